/**
 * BYOK import through the real AWS SDK: CreateKey Origin EXTERNAL, GetParametersForImport,
 * key material wrapped with the `openssl` command line exactly as AWS's documentation tells
 * users to, ImportKeyMaterial, DeleteImportedKeyMaterial, re-import, and expiry by the
 * background job with the test clock moved forward.
 */
import { execFileSync } from 'node:child_process';
import {
  constants,
  createCipheriv,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  verify,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type AlgorithmSpec,
  type GetParametersForImportResponse,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { runJobsOnce } from '../../src/kms/jobs/background-jobs.js';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const DAY_MS = 24 * 60 * 60 * 1000;

let server: TestServer;
let dir: string;

before(async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'keyhold-import-'));
});

after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function externalKey(extra: Partial<ConstructorParameters<typeof CreateKeyCommand>[0]> = {}) {
  const out = await server.client.send(new CreateKeyCommand({ Origin: 'EXTERNAL', ...extra }));
  assert.ok(out.KeyMetadata);
  return out.KeyMetadata;
}

async function params(
  keyId: string,
  algorithm: AlgorithmSpec = 'RSAES_OAEP_SHA_256',
  spec: 'RSA_2048' | 'RSA_3072' | 'RSA_4096' = 'RSA_2048',
): Promise<GetParametersForImportResponse> {
  return server.client.send(
    new GetParametersForImportCommand({
      KeyId: keyId,
      WrappingAlgorithm: algorithm,
      WrappingKeySpec: spec,
    }),
  );
}

/** `openssl pkeyutl` wrap of a file with the DER public key, as the AWS docs show. */
function opensslWrap(plainFile: string, publicKey: Uint8Array, md: 'sha1' | 'sha256'): Buffer {
  const pub = join(dir, `pub-${randomBytes(4).toString('hex')}.der`);
  const enc = join(dir, `enc-${randomBytes(4).toString('hex')}.bin`);
  writeFileSync(pub, publicKey);
  execFileSync('openssl', [
    'pkeyutl',
    '-encrypt',
    '-in',
    plainFile,
    '-out',
    enc,
    '-inkey',
    pub,
    '-keyform',
    'DER',
    '-pubin',
    '-pkeyopt',
    'rsa_padding_mode:oaep',
    '-pkeyopt',
    `rsa_oaep_md:${md}`,
    '-pkeyopt',
    `rsa_mgf1_md:${md}`,
  ]);
  return readFileSync(enc);
}

/** `openssl rand -out plain.bin 32`. */
function opensslRand(n = 32): { file: string; bytes: Buffer } {
  const file = join(dir, `plain-${randomBytes(4).toString('hex')}.bin`);
  execFileSync('openssl', ['rand', '-out', file, String(n)]);
  return { file, bytes: readFileSync(file) };
}

function oaepWrap(material: Buffer, publicKey: Uint8Array, hash: 'sha1' | 'sha256'): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  return publicEncrypt(
    { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
    material,
  );
}

/** RSA_AES_KEY_WRAP_*: RSA-OAEP of an ephemeral AES-256 key || AES-KWP (RFC 5649) of the material. */
function rsaAesWrap(material: Buffer, publicKey: Uint8Array, hash: 'sha1' | 'sha256'): Buffer {
  const aes = randomBytes(32);
  const kwp = createCipheriv('id-aes256-wrap-pad', aes, Buffer.from('a65959a6', 'hex'));
  const wrapped = Buffer.concat([kwp.update(material), kwp.final()]);
  return Buffer.concat([oaepWrap(aes, publicKey, hash), wrapped]);
}

async function describe_(keyId: string): Promise<KeyMetadata> {
  const out = await server.client.send(new DescribeKeyCommand({ KeyId: keyId }));
  assert.ok(out.KeyMetadata);
  return out.KeyMetadata;
}

async function importMaterial(
  keyId: string,
  material: Buffer,
  opts: { validTo?: Date; algorithm?: AlgorithmSpec } = {},
): Promise<void> {
  const algorithm = opts.algorithm ?? 'RSAES_OAEP_SHA_256';
  const p = await params(keyId, algorithm);
  const hash = algorithm.endsWith('SHA_1') ? 'sha1' : 'sha256';
  const wrapped = algorithm.startsWith('RSA_AES')
    ? rsaAesWrap(material, p.PublicKey as Uint8Array, hash)
    : oaepWrap(material, p.PublicKey as Uint8Array, hash);
  await server.client.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: p.ImportToken,
      EncryptedKeyMaterial: wrapped,
      ...(opts.validTo === undefined
        ? { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }
        : { ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: opts.validTo }),
    }),
  );
}

async function roundTrip(keyId: string): Promise<void> {
  const blob = (
    await server.client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('hi') }))
  ).CiphertextBlob;
  const out = await server.client.send(new DecryptCommand({ CiphertextBlob: blob }));
  assert.equal(Buffer.from(out.Plaintext as Uint8Array).toString(), 'hi');
}

describe('CreateKey Origin EXTERNAL', () => {
  it('creates a PendingImport key without material', async () => {
    const key = await externalKey();
    assert.equal(key.Origin, 'EXTERNAL');
    assert.equal(key.KeyState, 'PendingImport');
    assert.equal(key.Enabled, false);
    assert.equal(key.CurrentKeyMaterialId, undefined);
    const md = await describe_(key.KeyId as string);
    assert.equal(md.KeyState, 'PendingImport');
    assert.equal(md.ExpirationModel, undefined);
    await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
    );
  });
});

describe('import with the openssl command line (AWS docs)', () => {
  for (const md of ['sha256', 'sha1'] as const) {
    it(`RSAES_OAEP_${md === 'sha1' ? 'SHA_1' : 'SHA_256'}: import, Encrypt/Decrypt, delete, re-import`, async () => {
      const key = await externalKey();
      const keyId = key.KeyId as string;
      const algorithm = md === 'sha1' ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256';
      for (const spec of ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const) {
        const p = await params(keyId, algorithm, spec);
        assert.equal(p.KeyId, key.Arn);
        const bits = createPublicKey({
          key: Buffer.from(p.PublicKey as Uint8Array),
          format: 'der',
          type: 'spki',
        }).asymmetricKeyDetails?.modulusLength;
        assert.equal(bits, Number(spec.slice(4)));
      }
      const p = await params(keyId, algorithm, 'RSA_4096');
      assert.ok(p.ParametersValidTo);
      const validity = p.ParametersValidTo.getTime() - Date.now();
      assert.ok(validity > DAY_MS - 60_000 && validity <= DAY_MS + 1000);

      const plain = opensslRand(32);
      const enc = opensslWrap(plain.file, p.PublicKey as Uint8Array, md);
      const validTo = new Date(Date.now() + 30 * DAY_MS);
      const out = await server.client.send(
        new ImportKeyMaterialCommand({
          KeyId: key.Arn,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: enc,
          ExpirationModel: 'KEY_MATERIAL_EXPIRES',
          ValidTo: validTo,
        }),
      );
      assert.match(out.KeyMaterialId ?? '', /^[a-f0-9]{64}$/);
      const md1 = await describe_(keyId);
      assert.equal(md1.KeyState, 'Enabled');
      assert.equal(md1.Enabled, true);
      assert.equal(md1.ExpirationModel, 'KEY_MATERIAL_EXPIRES');
      assert.ok(Math.abs((md1.ValidTo?.getTime() ?? 0) - validTo.getTime()) < 1000);
      assert.equal(md1.CurrentKeyMaterialId, out.KeyMaterialId);
      await roundTrip(keyId);

      // The token is single use.
      await expectAwsError(
        server.client.send(
          new ImportKeyMaterialCommand({
            KeyId: keyId,
            ImportToken: p.ImportToken,
            EncryptedKeyMaterial: enc,
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
        'InvalidImportTokenException',
      );

      const blob = (
        await server.client.send(
          new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept') }),
        )
      ).CiphertextBlob as Uint8Array;

      // Delete: PendingImport at once, ciphertexts fail.
      const del = await server.client.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
      assert.equal(del.KeyMaterialId, out.KeyMaterialId);
      const md2 = await describe_(keyId);
      assert.equal(md2.KeyState, 'PendingImport');
      assert.equal(md2.ExpirationModel, undefined);
      await expectAwsError(
        server.client.send(new DecryptCommand({ CiphertextBlob: blob })),
        'KMSInvalidStateException',
      );
      // Deleting again has no effect.
      await server.client.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));

      // Re-import of other material is refused; of the same material, old data decrypts.
      const other = opensslRand(32);
      const p2 = await params(keyId, algorithm);
      await expectAwsError(
        server.client.send(
          new ImportKeyMaterialCommand({
            KeyId: keyId,
            ImportToken: p2.ImportToken,
            EncryptedKeyMaterial: opensslWrap(other.file, p2.PublicKey as Uint8Array, md),
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
        'IncorrectKeyMaterialException',
      );
      const p3 = await params(keyId, algorithm);
      await server.client.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: p3.ImportToken,
          EncryptedKeyMaterial: opensslWrap(plain.file, p3.PublicKey as Uint8Array, md),
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        }),
      );
      const md3 = await describe_(keyId);
      assert.equal(md3.KeyState, 'Enabled');
      assert.equal(md3.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
      assert.equal(md3.ValidTo, undefined);
      assert.equal(md3.CurrentKeyMaterialId, out.KeyMaterialId);
      const dec = await server.client.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(Buffer.from(dec.Plaintext as Uint8Array).toString(), 'kept');
    });
  }

  it('RSA_AES_KEY_WRAP_SHA_256 and _SHA_1 (Node crypto: RSA-OAEP + aes256-wrap-pad)', async () => {
    for (const algorithm of ['RSA_AES_KEY_WRAP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1'] as const) {
      const key = await externalKey();
      await importMaterial(key.KeyId as string, randomBytes(32), { algorithm });
      await roundTrip(key.KeyId as string);
    }
  });

  it('asymmetric material (PKCS#8) imports with RSA_AES_KEY_WRAP: ECC and RSA signing keys sign with it', async () => {
    for (const [spec, algorithm, gen] of [
      [
        'ECC_NIST_P256',
        'ECDSA_SHA_256',
        () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }),
      ],
      [
        'RSA_2048',
        'RSASSA_PKCS1_V1_5_SHA_256',
        () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
      ],
    ] as const) {
      const pair = gen();
      const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
      const key = await externalKey({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' });
      const keyId = key.KeyId as string;
      const p = await params(keyId, 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_3072');
      await server.client.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: rsaAesWrap(der, p.PublicKey as Uint8Array, 'sha256'),
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        }),
      );
      assert.equal((await describe_(keyId)).KeyState, 'Enabled');
      const message = Buffer.from(`imported ${spec}`);
      const signed = await server.client.send(
        new SignCommand({
          KeyId: keyId,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: algorithm,
        }),
      );
      // The signature verifies with the public half kept OUTSIDE keyhold: the imported key is in use.
      assert.ok(
        verify('sha256', message, pair.publicKey, Buffer.from(signed.Signature as Uint8Array)),
      );
      const pub = await server.client.send(new GetPublicKeyCommand({ KeyId: keyId }));
      assert.deepEqual(
        Buffer.from(pub.PublicKey as Uint8Array),
        pair.publicKey.export({ format: 'der', type: 'spki' }),
      );
    }
  });

  it('the same material in two keys gets different key material ids', async () => {
    const material = randomBytes(32);
    const a = await externalKey();
    const b = await externalKey();
    await importMaterial(a.KeyId as string, material);
    await importMaterial(b.KeyId as string, material);
    assert.notEqual(
      (await describe_(a.KeyId as string)).CurrentKeyMaterialId,
      (await describe_(b.KeyId as string)).CurrentKeyMaterialId,
    );
  });

  it('a re-import while the material is present may change the expiration; the state stays', async () => {
    const material = randomBytes(32);
    const key = await externalKey();
    const keyId = key.KeyId as string;
    await importMaterial(keyId, material, { validTo: new Date(Date.now() + DAY_MS) });
    await server.client.send(new DisableKeyCommand({ KeyId: keyId }));
    await importMaterial(keyId, material);
    const md = await describe_(keyId);
    assert.equal(md.KeyState, 'Disabled');
    assert.equal(md.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
  });
});

describe('HMAC import', () => {
  it('imports an HMAC_256 key; GenerateMac matches an HMAC computed outside', async () => {
    const key = await externalKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const material = randomBytes(32);
    await importMaterial(key.KeyId as string, material);
    const mac = await server.client.send(
      new GenerateMacCommand({
        KeyId: key.KeyId,
        Message: Buffer.from('msg'),
        MacAlgorithm: 'HMAC_SHA_256',
      }),
    );
    assert.deepEqual(
      Buffer.from(mac.Mac as Uint8Array),
      createHmac('sha256', material).update('msg').digest(),
    );
    const short = await externalKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await expectAwsError(
      importMaterial(short.KeyId as string, randomBytes(16)),
      'IncorrectKeyMaterialException',
    );
  });
});

describe('error paths', () => {
  it('non-EXTERNAL keys: UnsupportedOperationException for all three operations', async () => {
    const key = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata as KeyMetadata;
    await expectAwsError(params(key.KeyId as string), 'UnsupportedOperationException');
    await expectAwsError(
      server.client.send(
        new ImportKeyMaterialCommand({
          KeyId: key.KeyId,
          ImportToken: Buffer.from('x'),
          EncryptedKeyMaterial: Buffer.from('y'),
        }),
      ),
      'UnsupportedOperationException',
    );
    await expectAwsError(
      server.client.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId })),
      'UnsupportedOperationException',
    );
  });

  it('RSAES_PKCS1_V1_5 and SM2 wrapping are refused', async () => {
    const key = await externalKey();
    await expectAwsError(
      params(key.KeyId as string, 'RSAES_PKCS1_V1_5'),
      'UnsupportedOperationException',
    );
    await expectAwsError(
      server.client.send(
        new GetParametersForImportCommand({
          KeyId: key.KeyId,
          WrappingAlgorithm: 'SM2PKE',
          WrappingKeySpec: 'SM2',
        }),
      ),
      'UnsupportedOperationException',
    );
  });

  it('tokens: garbage, another key, expired; unwrap failure; ValidTo rules', async () => {
    const key = await externalKey();
    const keyId = key.KeyId as string;
    const material = randomBytes(32);
    const p = await params(keyId);
    const enc = oaepWrap(material, p.PublicKey as Uint8Array, 'sha256');
    const send = (token: Uint8Array | undefined, blob: Buffer, extra: object = {}) =>
      server.client.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: token,
          EncryptedKeyMaterial: blob,
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          ...extra,
        }),
      );
    await expectAwsError(send(randomBytes(40), enc), 'InvalidImportTokenException');
    const otherKey = await externalKey();
    const otherParams = await params(otherKey.KeyId as string);
    await expectAwsError(send(otherParams.ImportToken, enc), 'InvalidImportTokenException');
    // Wrapped with the wrong hash / garbage: InvalidCiphertextException.
    await expectAwsError(
      send(p.ImportToken, oaepWrap(material, p.PublicKey as Uint8Array, 'sha1')),
      'InvalidCiphertextException',
    );
    await expectAwsError(send(p.ImportToken, randomBytes(256)), 'InvalidCiphertextException');
    // Wrong length for a symmetric key.
    await expectAwsError(
      send(p.ImportToken, oaepWrap(randomBytes(16), p.PublicKey as Uint8Array, 'sha256')),
      'IncorrectKeyMaterialException',
    );
    // ExpirationModel / ValidTo.
    await expectAwsError(
      send(p.ImportToken, enc, { ExpirationModel: 'KEY_MATERIAL_EXPIRES' }),
      'ValidationException',
    );
    await expectAwsError(
      send(p.ImportToken, enc, { ExpirationModel: undefined }),
      'ValidationException',
    );
    await expectAwsError(
      send(p.ImportToken, enc, { ValidTo: new Date(Date.now() + DAY_MS) }),
      'ValidationException',
    );
    await expectAwsError(
      send(p.ImportToken, enc, {
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: new Date(Date.now() + 366 * DAY_MS),
      }),
      'ValidationException',
    );
    await expectAwsError(
      send(p.ImportToken, enc, {
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: new Date(Date.now() - 1000),
      }),
      'ValidationException',
    );
    // The failures did not consume the token.
    await send(p.ImportToken, enc);
    assert.equal((await describe_(keyId)).KeyState, 'Enabled');

    // An expired token: 24 h later.
    const key2 = await externalKey();
    const p2 = await params(key2.KeyId as string);
    const saved = server.clock.offsetMs;
    server.clock.advance(DAY_MS + 1000);
    try {
      const c = new KMSClient({
        endpoint: server.url,
        region: TEST_REGION,
        credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
        maxAttempts: 1,
        systemClockOffset: server.clock.offsetMs,
      });
      await expectAwsError(
        c.send(
          new ImportKeyMaterialCommand({
            KeyId: key2.KeyId,
            ImportToken: p2.ImportToken,
            EncryptedKeyMaterial: oaepWrap(material, p2.PublicKey as Uint8Array, 'sha256'),
            ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
          }),
        ),
        'ExpiredImportTokenException',
      );
    } finally {
      server.clock.offsetMs = saved;
    }
  });

  it('key states: PendingDeletion refuses GetParametersForImport; delete keeps PendingDeletion', async () => {
    const key = await externalKey();
    const keyId = key.KeyId as string;
    await importMaterial(keyId, randomBytes(32));
    await server.client.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }),
    );
    await expectAwsError(params(keyId), 'KMSInvalidStateException');
    await server.client.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    assert.equal((await describe_(keyId)).KeyState, 'PendingDeletion');
  });

  it('alias names are not accepted (InvalidArnException)', async () => {
    const err = await expectAwsError(params('alias/whatever'), 'InvalidArnException');
    assert.equal(err.message, 'Key Aliases are not supported for this operation.');
  });
});

describe('expiry (background job, moved clock)', () => {
  it('expired material is deleted and the key goes to PendingImport until re-import', async () => {
    const key = await externalKey();
    const keyId = key.KeyId as string;
    const material = randomBytes(32);
    await importMaterial(keyId, material, { validTo: new Date(Date.now() + DAY_MS) });
    const blob = (
      await server.client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('e') }))
    ).CiphertextBlob;

    await runJobsOnce(server.node.jobs);
    assert.equal((await describe_(keyId)).KeyState, 'Enabled');

    const saved = server.clock.offsetMs;
    server.clock.advance(2 * DAY_MS);
    try {
      await runJobsOnce(server.node.jobs);
    } finally {
      server.clock.offsetMs = saved;
    }
    const md = await describe_(keyId);
    assert.equal(md.KeyState, 'PendingImport');
    assert.equal(md.ExpirationModel, undefined);
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: blob })),
      'KMSInvalidStateException',
    );
    await importMaterial(keyId, material);
    const out = await server.client.send(new DecryptCommand({ CiphertextBlob: blob }));
    assert.equal(Buffer.from(out.Plaintext as Uint8Array).toString(), 'e');
  });
});
