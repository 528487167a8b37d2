/**
 * `keyhold serve` as a user runs it: a child process configured by flags and KEYHOLD_*
 * variables, generated credentials printed once, a clean shutdown on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';

const MAIN = 'dist/src/cli/main.js';

interface Running {
  child: ChildProcess;
  url: string;
  stdout: () => string;
}

function serve(args: string[], env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], {
    env: { ...process.env, KEYHOLD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /keyhold listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, url: m[1] as string, stdout: () => out });
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

function stop(r: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((resolve) => {
    r.child.once('exit', (code) => resolve(code));
    r.child.kill(signal);
  });
}

describe('keyhold serve', () => {
  it('takes KEYHOLD_* settings, serves the SDK with the bootstrap key pair, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-cli-'));
    const r = await serve(['--port', '0'], {
      KEYHOLD_DATA_DIR: dataDir,
      KEYHOLD_REGION: 'eu-west-1',
      KEYHOLD_ACCOUNT_ID: '444455556666',
      KEYHOLD_ACCESS_KEY_ID: 'AKIACLITESTCLITEST01',
      KEYHOLD_SECRET_ACCESS_KEY: 'cliTestSecretKey0123456789abcdefghijklmn',
      // 21 CreateKeys at once: past AWS's 5/s CreateKey quota, which this test is not about.
      KEYHOLD_QUOTAS: 'off',
    });
    assert.match(r.stdout(), /Region eu-west-1, account 444455556666/);
    assert.doesNotMatch(r.stdout(), /AWS_SECRET_ACCESS_KEY/, 'given credentials are not printed');
    const kms = new KMSClient({
      endpoint: r.url,
      region: 'eu-west-1',
      credentials: {
        accessKeyId: 'AKIACLITESTCLITEST01',
        secretAccessKey: 'cliTestSecretKey0123456789abcdefghijklmn',
      },
    });
    const created = await kms.send(new CreateKeyCommand({}));
    assert.match(created.KeyMetadata?.Arn ?? '', /^arn:aws:kms:eu-west-1:444455556666:key\//);
    // SIGTERM under load: requests the server has taken are answered; whatever a client had
    // not yet sent may meet a closed socket, but nothing acknowledged is lost.
    const calls = Array.from({ length: 20 }, () =>
      kms.send(new CreateKeyCommand({ Description: 'in flight' })),
    );
    await Promise.race(calls);
    const code = stop(r);
    const settled = await Promise.allSettled(calls);
    assert.equal(await code, 0);
    kms.destroy();
    const acknowledged = settled.flatMap((s) =>
      s.status === 'fulfilled' ? [s.value.KeyMetadata?.KeyId] : [],
    );
    assert.ok(acknowledged.length >= 1);
    for (const s of settled) {
      if (s.status === 'rejected')
        assert.doesNotMatch(
          String((s.reason as Error).name),
          /Exception$/,
          'only transport errors',
        );
    }
    const again = await serve(['--port', '0'], {
      KEYHOLD_DATA_DIR: dataDir,
      KEYHOLD_REGION: 'eu-west-1',
      KEYHOLD_ACCOUNT_ID: '444455556666',
      KEYHOLD_ACCESS_KEY_ID: 'AKIACLITESTCLITEST01',
      KEYHOLD_SECRET_ACCESS_KEY: 'cliTestSecretKey0123456789abcdefghijklmn',
    });
    const kms2 = new KMSClient({
      endpoint: again.url,
      region: 'eu-west-1',
      credentials: {
        accessKeyId: 'AKIACLITESTCLITEST01',
        secretAccessKey: 'cliTestSecretKey0123456789abcdefghijklmn',
      },
    });
    const listed = new Set(
      (await kms2.send(new ListKeysCommand({ Limit: 1000 }))).Keys?.map((k) => k.KeyId),
    );
    for (const id of acknowledged)
      assert.ok(listed.has(id), `acknowledged key ${id} survived the restart`);
    kms2.destroy();
    assert.equal(await stop(again), 0);
    const verify = spawnSync(process.execPath, [MAIN, 'audit', 'verify', '--data-dir', dataDir], {
      encoding: 'utf8',
    });
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  it('generates administrator credentials on first start, prints them once, and they work', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-cli-'));
    const env = {
      KEYHOLD_DATA_DIR: dataDir,
      KEYHOLD_ACCESS_KEY_ID: '',
      KEYHOLD_SECRET_ACCESS_KEY: '',
    };
    const first = await serve(['--port', '0'], env);
    const id = /AWS_ACCESS_KEY_ID=(AKIA[A-Z0-9]{16})/.exec(first.stdout())?.[1];
    const secret = /AWS_SECRET_ACCESS_KEY=(\S{40})/.exec(first.stdout())?.[1];
    assert.ok(id !== undefined && secret !== undefined, first.stdout());
    assert.match(first.stdout(), /WARNING: generated a development root key/);
    assert.equal(await stop(first, 'SIGINT'), 0);

    const second = await serve(['--port', '0'], env);
    assert.doesNotMatch(second.stdout(), /AWS_SECRET_ACCESS_KEY/);
    const kms = new KMSClient({
      endpoint: second.url,
      region: 'us-east-1',
      credentials: { accessKeyId: id, secretAccessKey: secret },
    });
    const listed = await kms.send(new ListKeysCommand({}));
    assert.deepEqual(listed.Keys, []);
    kms.destroy();
    assert.equal(await stop(second), 0);
  });

  it('refuses bad configuration with a clear message', () => {
    const res = spawnSync(process.execPath, [MAIN, 'serve'], {
      env: {
        ...process.env,
        KEYHOLD_ACCOUNT_ID: '12',
        KEYHOLD_DATA_DIR: mkdtempSync(join(tmpdir(), 'keyhold-cli-')),
      },
      encoding: 'utf8',
    });
    assert.equal(res.status, 1);
    assert.match(res.stderr, /account id '12' must be 12 digits/);
  });
});
