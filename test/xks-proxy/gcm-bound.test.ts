/**
 * The proxy's AES-GCM invocation bound (random 96-bit IVs under long-lived external keys,
 * NIST SP 800-38D): with limits.gcmInvocationsPerKey = 3 a key encrypts three times, then
 * Encrypt answers InvalidStateException while Decrypt keeps working, per key, on both
 * backends. The counter file keeps reservations across restarts, and the key file re-keys
 * to the current scrypt parameters (also from a passphrase of the old 8-character minimum).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHmac, randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config.js';
import { GcmInvocationBudget, GcmLimitReachedError } from '../../src/hsm/gcm-budget.js';
import { XKS_DEFAULTS } from '../../src/xks-proxy/config.js';
import { InvocationCounterFile } from '../../src/xks-proxy/invocation-counter-file.js';
import { KeyFile, KeyFileError } from '../../src/xks-proxy/key-file.js';
import { softHsmAvailable } from '../helpers/softhsm.js';
import { requestMetadata, startTestXksProxy, type TestXksProxy } from '../helpers/xks-proxy.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'keyhold-xks-gcm-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function bound(backend: 'software' | 'pkcs11') {
  const skip = backend === 'pkcs11' && !softHsmAvailable() && 'softhsm2 not installed';
  it(
    `${backend}: three encryptions per key, then InvalidStateException; decrypt keeps working`,
    { skip },
    async () => {
      const x: TestXksProxy = await startTestXksProxy({
        backend,
        keys: [{ id: 'k1' }, { id: 'k2' }],
        config: { limits: { ...XKS_DEFAULTS.limits, gcmInvocationsPerKey: 3 } },
      });
      try {
        const enc = (key: string, text: string) =>
          x.call(`keys/${key}/encrypt`, {
            requestMetadata: requestMetadata('Encrypt'),
            plaintext: b64(text),
            encryptionAlgorithm: 'AES_GCM',
          });
        const made = [];
        for (let i = 0; i < 3; i++) {
          const r = await enc('k1', `m${i}`);
          assert.equal(r.status, 200, r.text);
          made.push(r.json);
        }
        const refused = await enc('k1', 'fourth');
        assert.equal(refused.status, 400);
        assert.deepEqual(refused.json, {
          errorName: 'InvalidStateException',
          errorMessage:
            'The external key has reached its AES-GCM invocation limit (3 encryptions); it can still decrypt',
        });
        for (const [i, e] of made.entries()) {
          const d = await x.call('keys/k1/decrypt', {
            requestMetadata: requestMetadata('Decrypt'),
            ciphertext: e.ciphertext,
            initializationVector: e.initializationVector,
            authenticationTag: e.authenticationTag,
            ciphertextMetadata: e.ciphertextMetadata,
            encryptionAlgorithm: 'AES_GCM',
          });
          assert.equal(d.status, 200, d.text);
          assert.equal(Buffer.from(d.json.plaintext, 'base64').toString(), `m${i}`);
        }
        assert.equal((await enc('k2', 'other key')).status, 200, 'each key has its own count');
      } finally {
        await x.stop();
      }
    },
  );
}
describe('xks-proxy AES-GCM invocation bound', () => {
  bound('software');
  bound('pkcs11');

  it('limits.gcmInvocationsPerKey outside 1..2^32 is a config error', async () => {
    for (const bad of [0, 2 ** 32 + 1, 1.5])
      await assert.rejects(
        startTestXksProxy({
          config: { limits: { ...XKS_DEFAULTS.limits, gcmInvocationsPerKey: bad } },
        }),
        (e: Error) =>
          e instanceof ConfigError &&
          e.message === 'limits.gcmInvocationsPerKey must be from 1 to 4294967296 (2^32)',
      );
  });

  it('the counter file keeps every reserved block across a restart, mode 0600; a bad file is refused', async () => {
    const path = join(dir, 'counters.json');
    const first = new GcmInvocationBudget(await InvocationCounterFile.open(path), {
      limit: 100,
      firstBlock: 10,
    });
    for (let i = 0; i < 12; i++) await first.take('key-a'); // blocks of 10 and 20 reserved
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { counters: Record<string, number> };
    assert.deepEqual(stored.counters, { 'key-a': 30 });
    // A new process continues after the reserved blocks (the old one's unused rest is lost).
    const second = new GcmInvocationBudget(await InvocationCounterFile.open(path), {
      limit: 35,
      firstBlock: 10,
    });
    let ok = 0;
    for (let i = 0; i < 10; i++) {
      try {
        await second.take('key-a');
        ok += 1;
      } catch (err) {
        assert.ok(err instanceof GcmLimitReachedError);
      }
    }
    assert.equal(ok, 5, 'positions 30..34 only');

    writeFileSync(path, '{"format":"keyhold-xks-gcm-invocations","counters":{"k":-1}}');
    await assert.rejects(InvocationCounterFile.open(path), ConfigError);
    writeFileSync(path, 'not json');
    await assert.rejects(InvocationCounterFile.open(path), ConfigError);
    // A place the proxy cannot write fails at start, naming the setting.
    await assert.rejects(
      InvocationCounterFile.open(join(dir, 'no-such-dir', 'c.json')),
      (e: Error) =>
        e instanceof ConfigError &&
        /cannot write the GCM invocation counters .* \(ENOENT\); set backend.invocationCounterFile/.test(
          e.message,
        ),
    );
  });

  it('a key file from before the 16-character rule (8-character passphrase, N=2^10) re-keys with keys upgrade to N=2^17 under a new passphrase', async () => {
    const path = join(dir, 'old-keys.json');
    writeLegacyKeyFile(path, 'eightchr', 'kept', Buffer.alloc(32, 5));
    // Opening it normally is refused, and the message names the way out.
    await assert.rejects(
      KeyFile.open(path, 'eightchr'),
      (e: Error) =>
        e instanceof KeyFileError && /at least 16 characters.*keys upgrade/.test(e.message),
    );
    const legacy = await KeyFile.open(path, 'eightchr', { legacyPassphrase: true });
    assert.equal(legacy.weakKdf, true);
    legacy.close();
    const longer = join(dir, 'new-pass');
    writeFileSync(longer, 'a much longer new passphrase');
    const short = join(dir, 'short-pass');
    writeFileSync(short, '15 characters..');
    const cli = (args: string[], pass: string) =>
      spawnSync(process.execPath, ['dist/src/cli/main.js', 'xks-proxy', 'keys', ...args], {
        env: { ...process.env, KEYHOLD_XKS_KEY_FILE_PASSPHRASE: pass },
        encoding: 'utf8',
      });
    // Keeping the 8-character passphrase is not an option, nor a new one under 16.
    const before = readFileSync(path);
    const keep = cli(['upgrade', '--file', path], 'eightchr');
    assert.equal(keep.status, 1);
    assert.match(keep.stderr, /at least 16 characters/);
    const bad = cli(['upgrade', '--file', path, '--new-passphrase-file', short], 'eightchr');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /at least 16 characters/);
    assert.deepEqual(readFileSync(path), before, 'a refused upgrade changes nothing');
    const up = cli(['upgrade', '--file', path, '--new-passphrase-file', longer], 'eightchr');
    assert.equal(up.status, 0, up.stderr);
    assert.match(up.stdout, /re-sealed .* \(scrypt N=131072, r=8, p=1\)/);
    const rec = JSON.parse(readFileSync(path, 'utf8')) as { kdf: { N: number } };
    assert.equal(rec.kdf.N, 2 ** 17);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await assert.rejects(
      KeyFile.open(path, 'eightchr', { legacyPassphrase: true }),
      /wrong passphrase/,
    );
    const g = await KeyFile.open(path, 'a much longer new passphrase');
    assert.equal(g.weakKdf, false);
    assert.deepEqual(g.material('kept'), Buffer.alloc(32, 5), 'the key material is unchanged');
    g.close();
    // A tampered KDF cost is bounded before any derivation.
    const text = JSON.parse(readFileSync(path, 'utf8')) as { kdf: { N: number } };
    text.kdf.N = 2 ** 24;
    writeFileSync(path, JSON.stringify(text));
    await assert.rejects(
      KeyFile.open(path, 'a much longer new passphrase'),
      /unsupported scrypt parameters/,
    );
  });
});

/** A key file as keyhold wrote it before the 16-character rule (same format, 8-char passphrase). */
function writeLegacyKeyFile(path: string, pass: string, id: string, material: Buffer): void {
  const kdf = { name: 'scrypt', salt: randomBytes(16).toString('base64'), N: 1024, r: 8, p: 1 };
  const keys = scryptSync(pass, Buffer.from(kdf.salt, 'base64'), 64, { N: 1024, r: 8, p: 1 });
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', keys.subarray(0, 32), iv);
  c.setAAD(Buffer.from(`keyhold-xks-keys/v1/key/${id}`));
  const sealed = Buffer.concat([iv, c.update(material), c.final(), c.getAuthTag()]);
  const body = {
    format: 'keyhold-xks-keys',
    version: 1,
    kdf,
    keys: [
      {
        id,
        spec: 'AES_256',
        state: 'ENABLED',
        usage: ['ENCRYPT', 'DECRYPT'],
        createdAt: new Date().toISOString(),
        sealed: sealed.toString('base64'),
      },
    ],
  };
  const mac = createHmac('sha256', keys.subarray(32)).update(JSON.stringify(body)).digest();
  writeFileSync(path, JSON.stringify({ ...body, mac: mac.toString('base64') }), { mode: 0o600 });
}
