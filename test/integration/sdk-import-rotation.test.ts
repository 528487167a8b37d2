/**
 * Rotating imported key material through the real AWS SDK: ImportKeyMaterial with ImportType
 * NEW_KEY_MATERIAL leaves the new material PENDING_ROTATION, RotateKeyOnDemand makes it
 * current, the old material keeps decrypting, ListKeyRotations shows every material with its
 * import details, per-material DeleteImportedKeyMaterial and expiry, and AWS's errors for
 * the wrong state (nothing pending, key pending import, a second pending material), the wrong
 * material and keys that cannot rotate.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  constants,
  createCipheriv,
  createPublicKey,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  type ImportKeyMaterialRequest,
  type KeyMetadata,
  type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { runJobsOnce } from '../../src/kms/jobs/background-jobs.js';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';

const DAY_MS = 24 * 60 * 60 * 1000;
let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

async function externalKey(spec = 'SYMMETRIC_DEFAULT', usage = 'ENCRYPT_DECRYPT'): Promise<string> {
  const out = await server.client.send(
    new CreateKeyCommand({
      Origin: 'EXTERNAL',
      KeySpec: spec as 'SYMMETRIC_DEFAULT',
      KeyUsage: usage as 'ENCRYPT_DECRYPT',
    }),
  );
  return out.KeyMetadata?.Arn as string;
}

/** GetParametersForImport + RSA_AES_KEY_WRAP_SHA_256 wrap + ImportKeyMaterial. */
async function importMaterial(
  keyId: string,
  material: Buffer,
  extra: Partial<ImportKeyMaterialRequest> = {},
): Promise<string> {
  const p = await server.client.send(
    new GetParametersForImportCommand({
      KeyId: keyId,
      WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256',
      WrappingKeySpec: 'RSA_2048',
    }),
  );
  const aes = randomBytes(32);
  const kwp = createCipheriv('id-aes256-wrap-pad', aes, Buffer.from('a65959a6', 'hex'));
  const wrapped = Buffer.concat([kwp.update(material), kwp.final()]);
  const pub = createPublicKey({
    key: Buffer.from(p.PublicKey as Uint8Array),
    format: 'der',
    type: 'spki',
  });
  const rsa = publicEncrypt(
    { key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    aes,
  );
  const out = await server.client.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: p.ImportToken,
      EncryptedKeyMaterial: Buffer.concat([rsa, wrapped]),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      ...extra,
    }),
  );
  assert.match(out.KeyMaterialId ?? '', /^[0-9a-f]{64}$/);
  return out.KeyMaterialId as string;
}

async function describeKey(keyId: string): Promise<KeyMetadata> {
  const md = (await server.client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
  assert.ok(md);
  return md;
}

async function rotations(keyId: string, all = true): Promise<RotationsListEntry[]> {
  const out = await server.client.send(
    new ListKeyRotationsCommand({
      KeyId: keyId,
      IncludeKeyMaterial: all ? 'ALL_KEY_MATERIAL' : 'ROTATIONS_ONLY',
    }),
  );
  return out.Rotations ?? [];
}

async function encrypt(keyId: string, text: string): Promise<Uint8Array> {
  const out = await server.client.send(
    new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }),
  );
  return out.CiphertextBlob as Uint8Array;
}

async function decrypt(blob: Uint8Array): Promise<{ text: string; materialId?: string }> {
  const out = await server.client.send(new DecryptCommand({ CiphertextBlob: blob }));
  return {
    text: Buffer.from(out.Plaintext as Uint8Array).toString(),
    materialId: out.KeyMaterialId,
  };
}

const rotate = (keyId: string) =>
  server.client.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));

describe('rotating imported key material', () => {
  it('NEW_KEY_MATERIAL waits PENDING_ROTATION; RotateKeyOnDemand makes it current; old material decrypts', async () => {
    const keyId = await externalKey();
    const material1 = randomBytes(32);
    // The first import defaults to NEW_KEY_MATERIAL and becomes current.
    const m1 = await importMaterial(keyId, material1, { KeyMaterialDescription: 'first' });
    assert.equal((await describeKey(keyId)).CurrentKeyMaterialId, m1);
    const blob1 = await encrypt(keyId, 'one');

    const err = await expectAwsError(rotate(keyId), 'KMSInvalidStateException');
    assert.equal(err.message, `No available key material pending rotation for the key: ${keyId}.`);
    assert.deepEqual(await rotations(keyId, false), []);

    const validTo = new Date(Math.floor((Date.now() + 30 * DAY_MS) / 1000) * 1000);
    const material2 = randomBytes(32);
    const m2 = await importMaterial(keyId, material2, {
      ImportType: 'NEW_KEY_MATERIAL',
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
      ValidTo: validTo,
      KeyMaterialDescription: 'second',
    });
    assert.notEqual(m2, m1);
    const pendingMd = await describeKey(keyId);
    assert.equal(pendingMd.CurrentKeyMaterialId, m1, 'pending material is not current yet');
    assert.equal(pendingMd.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
    assert.deepEqual(await rotations(keyId), [
      {
        KeyId: keyId,
        KeyMaterialId: m1,
        KeyMaterialDescription: 'first',
        ImportState: 'IMPORTED',
        KeyMaterialState: 'CURRENT',
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      },
      {
        KeyId: keyId,
        KeyMaterialId: m2,
        KeyMaterialDescription: 'second',
        ImportState: 'IMPORTED',
        KeyMaterialState: 'PENDING_ROTATION',
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: validTo,
      },
    ]);
    // Still encrypting under the first material.
    assert.equal((await decrypt(await encrypt(keyId, 'x'))).materialId, m1);

    await rotate(keyId);
    const md = await describeKey(keyId);
    assert.equal(md.CurrentKeyMaterialId, m2);
    assert.equal(md.ExpirationModel, 'KEY_MATERIAL_EXPIRES');
    assert.deepEqual(md.ValidTo, validTo);
    assert.equal(md.KeyState, 'Enabled');
    const blob2 = await encrypt(keyId, 'two');
    assert.deepEqual(await decrypt(blob2), { text: 'two', materialId: m2 });
    assert.deepEqual(await decrypt(blob1), { text: 'one', materialId: m1 });

    const done = await rotations(keyId, false);
    assert.equal(done.length, 1);
    assert.equal(done[0]?.KeyMaterialId, m2);
    assert.equal(done[0]?.KeyMaterialState, 'CURRENT');
    assert.equal(done[0]?.RotationType, 'ON_DEMAND');
    assert.ok(done[0]?.RotationDate instanceof Date);
    assert.deepEqual(
      (await rotations(keyId)).map((r) => [r.KeyMaterialId, r.KeyMaterialState]),
      [
        [m1, 'NON_CURRENT'],
        [m2, 'CURRENT'],
      ],
    );
    // Nothing is pending any more.
    await expectAwsError(rotate(keyId), 'KMSInvalidStateException');
  });

  it('refuses a second pending material, NEW with a KeyMaterialId, NEW of known material, EXISTING of unknown', async () => {
    const keyId = await externalKey();
    const material1 = randomBytes(32);
    const m1 = await importMaterial(keyId, material1);
    const m2 = await importMaterial(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    const second = await expectAwsError(
      importMaterial(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }),
      'KMSInvalidStateException',
    );
    assert.match(second.message, new RegExp(`pending rotation \\(${m2}\\)`));
    await expectAwsError(
      importMaterial(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL', KeyMaterialId: m1 }),
      'ValidationException',
    );
    // Omitted ImportType after the first import is EXISTING_KEY_MATERIAL: unknown material fails.
    await expectAwsError(importMaterial(keyId, randomBytes(32)), 'IncorrectKeyMaterialException');
    await expectAwsError(
      importMaterial(keyId, material1, { ImportType: 'EXISTING_KEY_MATERIAL', KeyMaterialId: m2 }),
      'IncorrectKeyMaterialException',
    );
    // Re-import of the first material, named by its id, changes its expiration only.
    const validTo = new Date(Math.floor((Date.now() + 10 * DAY_MS) / 1000) * 1000);
    assert.equal(
      await importMaterial(keyId, material1, {
        ImportType: 'EXISTING_KEY_MATERIAL',
        KeyMaterialId: m1,
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: validTo,
      }),
      m1,
    );
    assert.deepEqual((await describeKey(keyId)).ValidTo, validTo);
    await rotate(keyId);
    // After the rotation the first material is associated: NEW of it is refused.
    await expectAwsError(
      importMaterial(keyId, material1, { ImportType: 'NEW_KEY_MATERIAL' }),
      'IncorrectKeyMaterialException',
    );
    assert.equal((await rotations(keyId)).length, 2, 'the refused imports changed nothing');
  });

  it('deleting material: non-current → PendingImport until re-import; pending → forgotten', async () => {
    const keyId = await externalKey();
    const material1 = randomBytes(32);
    const m1 = await importMaterial(keyId, material1);
    const blob1 = await encrypt(keyId, 'one');
    const m2 = await importMaterial(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    await rotate(keyId);
    const blob2 = await encrypt(keyId, 'two');

    await expectAwsError(
      server.client.send(
        new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: 'a'.repeat(64) }),
      ),
      'NotFoundException',
    );
    const del = await server.client.send(
      new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: m1 }),
    );
    assert.equal(del.KeyMaterialId, m1);
    const md = await describeKey(keyId);
    assert.equal(md.KeyState, 'PendingImport');
    assert.equal(md.CurrentKeyMaterialId, m2);
    for (const blob of [blob1, blob2])
      await expectAwsError(decrypt(blob), 'KMSInvalidStateException');
    assert.deepEqual(
      (await rotations(keyId)).map((r) => [r.KeyMaterialId, r.ImportState, r.KeyMaterialState]),
      [
        [m1, 'PENDING_IMPORT', 'NON_CURRENT'],
        [m2, 'IMPORTED', 'CURRENT'],
      ],
    );
    // New material may be imported meanwhile, but the key cannot rotate while pending import.
    const m3 = await importMaterial(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    const pendingImport = await expectAwsError(rotate(keyId), 'KMSInvalidStateException');
    assert.equal(pendingImport.message, `${keyId} is pending import.`);

    // Re-importing the deleted material makes the key and both ciphertexts usable again.
    await importMaterial(keyId, material1);
    assert.equal((await describeKey(keyId)).KeyState, 'Enabled');
    assert.equal((await decrypt(blob1)).text, 'one');
    assert.equal((await decrypt(blob2)).text, 'two');

    // Deleting the pending material forgets it and leaves the key Enabled.
    await server.client.send(
      new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: m3 }),
    );
    assert.equal((await describeKey(keyId)).KeyState, 'Enabled');
    assert.deepEqual(
      (await rotations(keyId)).map((r) => r.KeyMaterialId),
      [m1, m2],
    );
    await expectAwsError(rotate(keyId), 'KMSInvalidStateException');
  });

  it('expiry: pending material that expires is forgotten; the key stays Enabled', async () => {
    const keyId = await externalKey();
    await importMaterial(keyId, randomBytes(32));
    await importMaterial(keyId, randomBytes(32), {
      ImportType: 'NEW_KEY_MATERIAL',
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
      ValidTo: new Date(Date.now() + DAY_MS),
    });
    const saved = server.clock.offsetMs;
    server.clock.advance(2 * DAY_MS);
    try {
      await runJobsOnce(server.node.jobs);
    } finally {
      server.clock.offsetMs = saved;
    }
    assert.equal((await describeKey(keyId)).KeyState, 'Enabled');
    assert.equal((await rotations(keyId)).length, 1);
    await expectAwsError(rotate(keyId), 'KMSInvalidStateException');
  });

  it('asymmetric and HMAC keys keep one material; they do not rotate', async () => {
    const hmac = await externalKey('HMAC_256', 'GENERATE_VERIFY_MAC');
    await importMaterial(hmac, randomBytes(32));
    await expectAwsError(
      importMaterial(hmac, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }),
      'UnsupportedOperationException',
    );
    await expectAwsError(
      importMaterial(hmac, randomBytes(32), { KeyMaterialDescription: 'x' }),
      'ValidationException',
    );
    await expectAwsError(rotate(hmac), 'UnsupportedOperationException');
    // A symmetric key with material generated by KMS still rotates as before.
    const generated = await server.client.send(new CreateKeyCommand({}));
    await rotate(generated.KeyMetadata?.Arn as string);
  });
});
