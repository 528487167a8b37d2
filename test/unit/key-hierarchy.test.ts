import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { decodeSymmetricBlob } from '../../src/hsm/ciphertext-blob.js';
import { RootKeyMismatchError } from '../../src/hsm/domain-keys.js';
import { derivePurposeKey, loadRootKey, openRootKey } from '../../src/hsm/root-key.js';
import { SecretBytes } from '../../src/hsm/secret-bytes.js';
import { SoftwareHsm } from '../../src/hsm/software-hsm.js';
import type { BackingKeyHandle } from '../../src/hsm/hsm.js';
import { DomainKeys } from '../../src/kms/crypto/domain-keys.js';
import { rewrapOldDomainKeys, rotateDomainKeyIfDue } from '../../src/kms/jobs/background-jobs.js';
import { HsmError } from '../../src/hsm/hsm-error.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'keyhold-hier-'));
}

async function setup(dir = tempDir(), passphrase?: string) {
  const storage = new SqliteStorage(join(dir, 'keyhold.db'));
  const root = await openRootKey({ dataDir: dir, passphrase });
  const hsm = new SoftwareHsm(
    derivePurposeKey(root.key, 'domain-key-wrap'),
    derivePurposeKey(root.key, 'secret-seal'),
  );
  const domainKeys = await DomainKeys.open(storage, hsm, new Date());
  return { dir, storage, domainKeys, hsm, root };
}

function handleFor(hsm: SoftwareHsm, keyId = randomUUID()): BackingKeyHandle {
  const keyArn = `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;
  const versionId = randomBytes(32).toString('hex');
  return { keyId, keyArn, versionId, ...hsm.createBackingKey({ keyArn, versionId }) };
}

// hsm/ throws its own opaque error; kms/crypto/hsm-errors.ts makes it InvalidCiphertextException.
const invalid = (e: unknown) => e instanceof HsmError && e.kind === 'integrity';

describe('key hierarchy', () => {
  it('encrypts and decrypts through an EKT; each call uses a fresh nonce and IV', async () => {
    const { hsm, storage } = await setup();
    const h = handleFor(hsm);
    const a = hsm.encrypt(h, Buffer.from('secret'), { purpose: 'test' });
    const b = hsm.encrypt(h, Buffer.from('secret'), { purpose: 'test' });
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(decodeSymmetricBlob(a).nonce, decodeSymmetricBlob(b).nonce);
    assert.equal(hsm.decrypt(h, decodeSymmetricBlob(a), { purpose: 'test' }).toString(), 'secret');
    await storage.close();
  });

  it('binds an EKT to its key ARN and version: a swapped EKT does not unwrap', async () => {
    const { hsm, storage } = await setup();
    const a = handleFor(hsm);
    const b = handleFor(hsm);
    const blob = hsm.encrypt(a, Buffer.from('x'), undefined);
    // b's identity with a's EKT: the AAD no longer matches.
    assert.throws(() =>
      hsm.decrypt(
        { ...b, ekt: a.ekt, domainKeyId: a.domainKeyId },
        decodeSymmetricBlob(blob),
        undefined,
      ),
    );
    // a's blob decrypted with b's key material fails opaquely.
    assert.throws(() => hsm.decrypt({ ...a, ekt: b.ekt }, decodeSymmetricBlob(blob), undefined));
    await storage.close();
  });

  it('fails with InvalidCiphertextException for a changed context or any flipped byte', async () => {
    const { hsm, storage } = await setup();
    const h = handleFor(hsm);
    const blob = hsm.encrypt(h, Buffer.from('hello world'), { a: '1' });
    assert.throws(() => hsm.decrypt(h, decodeSymmetricBlob(blob), { a: '2' }), invalid);
    assert.throws(() => hsm.decrypt(h, decodeSymmetricBlob(blob), undefined), invalid);
    for (let i = 0; i < blob.length; i++) {
      const t = Buffer.from(blob);
      t[i] = (t[i] as number) ^ 0x01;
      assert.throws(
        () => hsm.decrypt(h, decodeSymmetricBlob(t), { a: '1' }),
        (e: unknown) => invalid(e),
        `byte ${i}`,
      );
    }
    await storage.close();
  });

  it('rotates the domain key and rewraps EKTs; old ciphertexts still decrypt; old domain keys go', async () => {
    const { hsm, storage, domainKeys } = await setup();
    const h = handleFor(hsm);
    const v = {
      region: 'us-east-1',
      keyId: h.keyId,
      versionId: h.versionId,
      domainKeyId: h.domainKeyId,
      ekt: h.ekt,
      createdAt: new Date(),
    };
    await storage.createKey(
      {
        region: 'us-east-1',
        keyId: h.keyId,
        accountId: '111122223333',
        arn: h.keyArn,
        description: '',
        keyState: 'Enabled',
        keySpec: 'SYMMETRIC_DEFAULT',
        keyUsage: 'ENCRYPT_DECRYPT',
        origin: 'AWS_KMS',
        keyManager: 'CUSTOMER',
        multiRegion: false,
        policy: '{}',
        creationDate: new Date(),
        currentVersionId: h.versionId,
        revision: 0,
      },
      v,
      [],
    );
    const blob = hsm.encrypt(h, Buffer.from('kept'), undefined);
    const first = domainKeys.status().activeId;
    const clock = { now: () => new Date(Date.now() + 25 * 3600_000) };
    const deps = { storage, hsm, domainKeys, clock, domainKeyRotationHours: 24 };
    assert.equal(await rotateDomainKeyIfDue({ ...deps, clock: { now: () => new Date() } }), false);
    assert.equal(await rotateDomainKeyIfDue(deps), true);
    assert.notEqual(domainKeys.status().activeId, first);
    assert.equal(await rewrapOldDomainKeys(deps), 1);
    const stored = await storage.getKeyVersion('us-east-1', h.keyId, h.versionId);
    assert.equal(stored?.domainKeyId, domainKeys.status().activeId as string);
    assert.deepEqual(
      domainKeys.status().ids,
      [domainKeys.status().activeId],
      'the unreferenced old domain key is dropped',
    );
    const rewrapped = { ...h, domainKeyId: stored.domainKeyId, ekt: stored.ekt };
    assert.equal(hsm.decrypt(rewrapped, decodeSymmetricBlob(blob), undefined).toString(), 'kept');
    await storage.close();
  });

  it('refuses to start with a root key that does not match the stored domain keys', async () => {
    const dir = tempDir();
    const first = await setup(dir, 'correct horse battery staple');
    await first.storage.close();
    await assert.rejects(setup(dir, 'wrong passphrase'), RootKeyMismatchError);
    const again = await setup(dir, 'correct horse battery staple');
    await again.storage.close();
  });

  it('writes the generated root key file with mode 0600, and never generates one for offline tools', () => {
    const dir = tempDir();
    const loaded = loadRootKey({ dataDir: dir });
    assert.equal(loaded.created, true);
    assert.equal(statSync(join(dir, 'root.key')).mode & 0o777, 0o600);
    assert.deepEqual(loadRootKey({ dataDir: dir }).key.bytes, loaded.key.bytes);
    assert.throws(() => loadRootKey({ dataDir: tempDir(), create: false }));
  });

  it('seals secrets so that a sealed value does not open under another label', async () => {
    const { hsm, storage } = await setup();
    const sealed = hsm.sealSecret('access-key/A', Buffer.from('s3cret'));
    assert.equal(hsm.openSecret('access-key/A', sealed).toString(), 's3cret');
    assert.throws(() => hsm.openSecret('access-key/B', sealed));
    assert.ok(!sealed.includes(Buffer.from('s3cret')));
    await storage.close();
  });

  it('SecretBytes never prints or serializes its bytes, and zeroizes', () => {
    const raw = Buffer.from('0123456789abcdef');
    const s = new SecretBytes(raw);
    assert.ok(!inspect(s).includes('0123'));
    assert.equal(JSON.stringify({ s }), '{"s":"[redacted]"}');
    assert.equal(`${s}`, '[redacted]');
    s.zeroize();
    assert.deepEqual(raw, Buffer.alloc(16));
    assert.throws(() => s.bytes);
  });
});
