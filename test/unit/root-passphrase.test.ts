import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RootKeyMismatchError } from '../../src/hsm/domain-keys.js';
import { openRootKey } from '../../src/hsm/root-key.js';
import {
  LEGACY_ROOT_KDF,
  MIN_ROOT_PASSPHRASE_LENGTH,
  ROOT_KDF,
  RootPassphraseError,
  wrapRootKey,
} from '../../src/hsm/root-passphrase.js';

const PASS = 'correct horse battery staple';
const tempDir = () => mkdtempSync(join(tmpdir(), 'keyhold-rootpp-'));
const record = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'root.wrapped.json'), 'utf8')) as {
    kdf: { N: number; r: number; p: number; salt: string };
    wrapped: string;
  };

describe('root key under a passphrase', () => {
  it('a new store gets a random root key wrapped with scrypt N=2^17 (file 0600); the same passphrase reopens it', async () => {
    const dir = tempDir();
    const first = await openRootKey({ dataDir: dir, passphrase: PASS });
    assert.equal(first.created, true);
    assert.equal(first.upgrade, undefined);
    const rec = record(dir);
    assert.deepEqual({ N: rec.kdf.N, r: rec.kdf.r, p: rec.kdf.p }, { N: 2 ** 17, r: 8, p: 1 });
    assert.equal(statSync(join(dir, 'root.wrapped.json')).mode & 0o777, 0o600);
    assert.equal(existsSync(join(dir, 'root.salt')), false);
    // The root key is random, not the passphrase's scrypt output.
    const direct = scryptSync(PASS, Buffer.from(rec.kdf.salt, 'base64'), 32, {
      ...ROOT_KDF,
      maxmem: 512 * 1024 * 1024,
    });
    assert.notDeepEqual(first.key.bytes, direct);
    assert.ok(!readFileSync(join(dir, 'root.wrapped.json')).includes(first.key.bytes));
    const again = await openRootKey({ dataDir: dir, passphrase: PASS });
    assert.equal(again.created, false);
    assert.equal(again.upgrade, undefined);
    assert.deepEqual(again.key.bytes, first.key.bytes);
    assert.deepEqual(readdirSync(dir), ['root.wrapped.json'], 'no temp file left behind');
  });

  it(`refuses a passphrase shorter than ${MIN_ROOT_PASSPHRASE_LENGTH} characters with a clear error, writing nothing`, async () => {
    for (const short of ['a', '123456789012345', 'ééééééééééééééé']) {
      const dir = tempDir();
      await assert.rejects(
        openRootKey({ dataDir: dir, passphrase: short }),
        (err: Error) =>
          err instanceof RootPassphraseError &&
          err.message ===
            'the root passphrase (KEYHOLD_ROOT_PASSPHRASE) must be at least 16 characters',
      );
      assert.deepEqual(readdirSync(dir), []);
    }
    // 16 code points, some outside the BMP, is long enough.
    const ok = await openRootKey({ dataDir: tempDir(), passphrase: '🔑'.repeat(16) });
    assert.equal(ok.created, true);
  });

  it('a wrong passphrase fails the wrapping (RootKeyMismatchError) and changes nothing', async () => {
    const dir = tempDir();
    await openRootKey({ dataDir: dir, passphrase: PASS });
    const before = readFileSync(join(dir, 'root.wrapped.json'));
    await assert.rejects(
      openRootKey({ dataDir: dir, passphrase: 'Correct horse battery staple' }),
      RootKeyMismatchError,
    );
    assert.deepEqual(readFileSync(join(dir, 'root.wrapped.json')), before);
  });

  it('an old deployment (root key = scrypt N=2^15 of root.salt) opens with the same root key and upgrades to the wrapped form', async () => {
    const dir = tempDir();
    const salt = Buffer.alloc(32, 7);
    writeFileSync(join(dir, 'root.salt'), salt.toString('hex') + '\n', { mode: 0o600 });
    const legacyRoot = scryptSync(PASS, salt, 32, { ...LEGACY_ROOT_KDF, maxmem: 64 << 20 });
    const old = await openRootKey({ dataDir: dir, passphrase: PASS });
    assert.deepEqual(old.key.bytes, legacyRoot);
    assert.equal(old.created, false);
    assert.ok(old.upgrade !== undefined, 'an upgrade is offered');
    assert.equal(existsSync(join(dir, 'root.wrapped.json')), false, 'nothing changes before it');
    assert.deepEqual(await old.upgrade(), ROOT_KDF);
    assert.equal(existsSync(join(dir, 'root.salt')), false, 'the weak salt is gone');
    assert.equal(record(dir).kdf.N, 2 ** 17);
    const upgraded = await openRootKey({ dataDir: dir, passphrase: PASS });
    assert.deepEqual(
      upgraded.key.bytes,
      legacyRoot,
      'the same root key: everything keyed from it holds',
    );
    assert.equal(upgraded.upgrade, undefined);
    // A crash between writing the wrapping and removing the salt: the next start removes it.
    writeFileSync(join(dir, 'root.salt'), salt.toString('hex') + '\n', { mode: 0o600 });
    const leftover = await openRootKey({ dataDir: dir, passphrase: PASS });
    assert.deepEqual(leftover.key.bytes, legacyRoot);
    assert.ok(leftover.upgrade !== undefined);
    await leftover.upgrade();
    assert.equal(existsSync(join(dir, 'root.salt')), false);
  });

  it('a wrapping with weaker stored parameters opens and is re-wrapped under N=2^17, same root key', async () => {
    const dir = tempDir();
    const root = Buffer.alloc(32, 9);
    writeFileSync(
      join(dir, 'root.wrapped.json'),
      await wrapRootKey(root, PASS, { N: 2 ** 14, r: 8, p: 1 }),
    );
    const weak = await openRootKey({ dataDir: dir, passphrase: PASS });
    assert.deepEqual(weak.key.bytes, root);
    assert.equal(record(dir).kdf.N, 2 ** 14);
    assert.ok(weak.upgrade !== undefined);
    await weak.upgrade();
    assert.equal(record(dir).kdf.N, 2 ** 17);
    const strong = await openRootKey({ dataDir: dir, passphrase: PASS });
    assert.deepEqual(strong.key.bytes, root);
    assert.equal(strong.upgrade, undefined);
  });

  it('a tampered wrapping is refused: parameters are bounded and bound to the tag, malformed JSON is named', async () => {
    const dir = tempDir();
    await openRootKey({ dataDir: dir, passphrase: PASS });
    const path = join(dir, 'root.wrapped.json');
    const good = readFileSync(path, 'utf8');
    const edit = (f: (r: Record<string, unknown> & { kdf: Record<string, unknown> }) => void) => {
      const r = JSON.parse(good) as Record<string, unknown> & { kdf: Record<string, unknown> };
      f(r);
      writeFileSync(path, JSON.stringify(r));
    };
    const unsupported = (err: Error) =>
      err instanceof RootPassphraseError && /unsupported scrypt parameters/.test(err.message);
    edit((r) => (r.kdf.N = 2 ** 30)); // would allocate 128 GiB
    await assert.rejects(openRootKey({ dataDir: dir, passphrase: PASS }), unsupported);
    edit((r) => (r.kdf.N = 100_000)); // not a power of two
    await assert.rejects(openRootKey({ dataDir: dir, passphrase: PASS }), unsupported);
    edit((r) => (r.kdf.r = 'x'));
    await assert.rejects(openRootKey({ dataDir: dir, passphrase: PASS }), unsupported);
    // Valid but different parameters derive another key: the tag does not verify.
    edit((r) => (r.kdf.N = 2 ** 16));
    await assert.rejects(openRootKey({ dataDir: dir, passphrase: PASS }), RootKeyMismatchError);
    edit((r) => {
      const w = Buffer.from(r.wrapped as string, 'base64');
      w[20] = (w[20] as number) ^ 1;
      r.wrapped = w.toString('base64');
    });
    await assert.rejects(openRootKey({ dataDir: dir, passphrase: PASS }), RootKeyMismatchError);
    writeFileSync(path, '{"format":');
    await assert.rejects(
      openRootKey({ dataDir: dir, passphrase: PASS }),
      (err: Error) => err instanceof RootPassphraseError && err.message.includes(path),
    );
    writeFileSync(path, good);
    assert.equal((await openRootKey({ dataDir: dir, passphrase: PASS })).created, false);
  });

  it('offline tools never create a root key', async () => {
    const dir = tempDir();
    await assert.rejects(
      openRootKey({ dataDir: dir, passphrase: PASS, create: false }),
      RootPassphraseError,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});
