/**
 * The settings tables (src/config/settings.ts, src/xks-proxy/settings.ts) against what is
 * built from them: the README's and docs/xks-proxy.md's tables, `keyhold serve --help` and
 * `keyhold xks-proxy --help`, and loadConfig's defaults and precedence. A doc that fails
 * here is behind the table: `npm run docs:settings`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { KEYHOLD_SETTINGS, type Setting } from '../../src/config/settings.js';
import {
  flagHelp,
  keyholdSettingsHelp,
  keyholdSettingsMarkdown,
  markedBlock,
} from '../../src/config/settings-doc.js';
import { XKS_SETTINGS, type XksSetting } from '../../src/xks-proxy/settings.js';
import { xksSettingsHelp, xksSettingsMarkdown } from '../../src/xks-proxy/settings-doc.js';

const MAIN = resolve('dist/src/cli/main.js');
const keyhold = Object.values(KEYHOLD_SETTINGS) as Array<Setting<unknown>>;
const xks = Object.values(XKS_SETTINGS) as Array<XksSetting<unknown>>;

function help(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [MAIN, ...args, '--help'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const fix = 'the doc is behind the settings table: run npm run docs:settings';

describe('settings table → docs', () => {
  it("README.md's table is the keyhold serve table", () => {
    const block = markedBlock(readFileSync('README.md', 'utf8'), 'keyhold');
    assert.equal(block, keyholdSettingsMarkdown(), fix);
  });

  it("docs/xks-proxy.md's table is the xks-proxy table", () => {
    const block = markedBlock(readFileSync('docs/xks-proxy.md', 'utf8'), 'xks-proxy');
    assert.equal(block, xksSettingsMarkdown(), fix);
  });

  it('every variable the config loaders name is in a table', () => {
    const known = new Set<string>();
    for (const s of keyhold) known.add(s.env).add(`${s.env}_FILE`);
    for (const s of xks) if (s.env !== undefined) known.add(s.env).add(`${s.env}_FILE`);
    for (const file of ['src/config/config.ts', 'src/xks-proxy/config.ts']) {
      for (const [name] of readFileSync(file, 'utf8').matchAll(/KEYHOLD_[A-Z0-9_]*[A-Z0-9]/g))
        if (name !== 'KEYHOLD_XKS') assert.ok(known.has(name), `${file} names ${name}`);
    }
  });

  it('names are unique', () => {
    const envs = keyhold.map((s) => s.env);
    assert.equal(new Set(envs).size, envs.length);
    const fields = xks.map((s) => s.file ?? s.env);
    assert.equal(new Set(fields).size, fields.length);
  });
});

describe('settings table → --help', () => {
  // Secrets set in the environment: --help must never show them.
  const secretEnv: NodeJS.ProcessEnv = {};
  for (const s of keyhold) if (s.secret) secretEnv[s.env] = `sentinel-${s.env}`;
  for (const s of xks) if (s.secret && s.env !== undefined) secretEnv[s.env] = `sentinel-${s.env}`;

  it('keyhold serve --help: every flag and every setting of the table, no secret value', () => {
    const out = help(['serve'], secretEnv);
    const flat = out.replace(/\s+/g, ' ');
    assert.ok(out.includes(keyholdSettingsHelp()), out);
    for (const s of keyhold) {
      assert.ok(out.includes(s.env), s.env);
      if (s.flag === undefined) continue;
      // Commander wraps long descriptions; compare with the whitespace collapsed.
      const option = `--${s.flag.long}${s.flag.arg !== undefined ? ` ${s.flag.arg}` : ''}`;
      assert.ok(flat.includes(`${option} ${flagHelp(s)}`), `${option} ${flagHelp(s)}`);
    }
    assert.doesNotMatch(out, /sentinel-/);
  });

  it('keyhold xks-proxy --help: every setting of the table, no secret value', () => {
    const out = help(['xks-proxy'], secretEnv);
    assert.ok(out.includes(xksSettingsHelp()), out);
    assert.doesNotMatch(out, /sentinel-/);
  });
});

describe('settings table → loadConfig', () => {
  const base = { dataDir: '/tmp/keyhold-settings-test' };

  it('with nothing set, each setting is its default', () => {
    const c = loadConfig(base, {}) as unknown as Record<string, unknown>;
    const http = c.http as Record<string, unknown>;
    for (const [key, s] of Object.entries(KEYHOLD_SETTINGS) as Array<[string, Setting<unknown>]>) {
      if (key === 'dataDir' || key === 'metricsPort' || key.startsWith('xksClient')) continue;
      const actual = key in c ? c[key] : http[key];
      if (key === 'regions') assert.deepEqual(actual, ['us-east-1']);
      else assert.deepEqual(actual, s.default(), key);
    }
    assert.equal(c.metricsPort, 9420);
  });

  it('a flag beats the environment, which beats the default', () => {
    assert.equal(loadConfig(base, {}).host, '127.0.0.1');
    assert.equal(loadConfig(base, { KEYHOLD_HOST: '0.0.0.0' }).host, '0.0.0.0');
    assert.equal(loadConfig({ ...base, host: '::1' }, { KEYHOLD_HOST: '0.0.0.0' }).host, '::1');
    assert.equal(loadConfig({ ...base, workers: 2 }, { KEYHOLD_WORKERS: '3' }).workers, 2);
    assert.equal(loadConfig(base, { KEYHOLD_WORKERS: '3' }).workers, 3);
    assert.equal(loadConfig({}, { KEYHOLD_DATA_DIR: 'x' }).dataDir, resolve('x'));
    assert.equal(loadConfig({ dataDir: 'y' }, { KEYHOLD_DATA_DIR: 'x' }).dataDir, resolve('y'));
  });

  it('a secret comes from <NAME>_FILE before <NAME>', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-settings-'));
    const file = join(dir, 'passphrase');
    writeFileSync(file, 'from-the-file-passphrase\n');
    const env = {
      KEYHOLD_ROOT_PASSPHRASE: 'from-the-environment',
      KEYHOLD_ROOT_PASSPHRASE_FILE: file,
    };
    assert.equal(loadConfig(base, env).rootPassphrase, 'from-the-file-passphrase');
    assert.equal(
      loadConfig(base, { KEYHOLD_ROOT_PASSPHRASE: 'from-the-environment' }).rootPassphrase,
      'from-the-environment',
    );
    assert.equal(loadConfig(base, { KEYHOLD_ROOT_PASSPHRASE: '' }).rootPassphrase, undefined);
  });

  it('a parser refuses what it cannot read, naming the variable', () => {
    assert.throws(() => loadConfig(base, { KEYHOLD_PORT: 'x' }), /KEYHOLD_PORT must be an integer/);
    assert.throws(
      () => loadConfig(base, { KEYHOLD_METRICS: 'maybe' }),
      /KEYHOLD_METRICS must be 'on' or 'off'/,
    );
    assert.throws(
      () => loadConfig(base, { KEYHOLD_QUOTA_SCALE: 'lots' }),
      /KEYHOLD_QUOTA_SCALE must be a number/,
    );
  });
});
