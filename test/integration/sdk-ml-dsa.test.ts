/**
 * ML-DSA keys (ML_DSA_44/65/87, ML_DSA_SHAKE_256, MessageType RAW and EXTERNAL_MU) and
 * Ed25519ph (ED25519_PH_SHA_512, MessageType DIGEST) through the real AWS SDK. Signatures are
 * checked offline with @noble/post-quantum / @noble/curves against the public key GetPublicKey
 * returns (DER SPKI, read back with `openssl asn1parse`); imported ML-DSA seeds sign under the
 * public key derived from the seed; misuse gets AWS's errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  constants,
  createCipheriv,
  createHash,
  createPublicKey,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  SignCommand,
  VerifyCommand,
  type KeySpec,
  type MessageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

const NOBLE = { ML_DSA_44: ml_dsa44, ML_DSA_65: ml_dsa65, ML_DSA_87: ml_dsa87 } as const;
const OID_LAST = { ML_DSA_44: 17, ML_DSA_65: 18, ML_DSA_87: 19 } as const;
type MlDsaSpec = keyof typeof NOBLE;

async function createKey(spec: string, extra: Record<string, unknown> = {}): Promise<string> {
  const out = await server.client.send(
    new CreateKeyCommand({ KeySpec: spec as KeySpec, KeyUsage: 'SIGN_VERIFY', ...extra }),
  );
  assert.ok(out.KeyMetadata?.Arn);
  return out.KeyMetadata.Arn;
}

async function sign(
  keyId: string,
  algorithm: string,
  message: Buffer,
  messageType?: string,
): Promise<Buffer> {
  const out = await server.client.send(
    new SignCommand({
      KeyId: keyId,
      Message: message,
      SigningAlgorithm: algorithm as SigningAlgorithmSpec,
      MessageType: messageType as MessageType | undefined,
    }),
  );
  assert.equal(out.SigningAlgorithm, algorithm);
  assert.equal(out.KeyId, keyId);
  return Buffer.from(out.Signature as Uint8Array);
}

function verify(
  keyId: string,
  algorithm: string,
  message: Buffer,
  signature: Buffer,
  messageType?: string,
): Promise<unknown> {
  return server.client.send(
    new VerifyCommand({
      KeyId: keyId,
      Message: message,
      Signature: signature,
      SigningAlgorithm: algorithm as SigningAlgorithmSpec,
      MessageType: messageType as MessageType | undefined,
    }),
  );
}

/** The raw ML-DSA public key inside GetPublicKey's SPKI (after the 22-byte DER header). */
async function rawPublicKey(keyId: string, spec: MlDsaSpec): Promise<Buffer> {
  const out = await server.client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  const der = Buffer.from(out.PublicKey as Uint8Array);
  const asn1 = execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: der }).toString();
  assert.match(asn1, new RegExp(`OBJECT +:2\\.16\\.840\\.1\\.101\\.3\\.4\\.3\\.${OID_LAST[spec]}`));
  const pk = der.subarray(22);
  assert.equal(pk.length, NOBLE[spec].lengths.publicKey);
  assert.equal(der[21], 0, 'BIT STRING with no unused bits');
  return pk;
}

/** μ = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64): FIPS 204 with the empty context. */
function mu(pk: Buffer, message: Buffer): Buffer {
  const tr = createHash('shake256', { outputLength: 64 }).update(pk).digest();
  return createHash('shake256', { outputLength: 64 })
    .update(tr)
    .update(Buffer.from([0, 0]))
    .update(message)
    .digest();
}

describe('ML-DSA keys', () => {
  for (const spec of ['ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87'] as const) {
    it(`${spec}: CreateKey, GetPublicKey (SPKI), Sign RAW and EXTERNAL_MU, Verify, offline checks`, async () => {
      const keyId = await createKey(spec);
      const md = (await server.client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
      assert.equal(md?.KeySpec, spec);
      assert.deepEqual(md?.SigningAlgorithms, ['ML_DSA_SHAKE_256']);
      const gp = await server.client.send(new GetPublicKeyCommand({ KeyId: keyId }));
      assert.equal(gp.KeySpec, spec);
      assert.equal(gp.KeyUsage, 'SIGN_VERIFY');
      assert.deepEqual(gp.SigningAlgorithms, ['ML_DSA_SHAKE_256']);
      const pk = await rawPublicKey(keyId, spec);

      const message = Buffer.from(`hello ${spec}`);
      const sig = await sign(keyId, 'ML_DSA_SHAKE_256', message);
      assert.equal(sig.length, NOBLE[spec].lengths.signature);
      assert.ok(NOBLE[spec].verify(sig, message, pk), 'noble verifies the RAW signature');
      await verify(keyId, 'ML_DSA_SHAKE_256', message, sig);

      const m = mu(pk, message);
      const sigMu = await sign(keyId, 'ML_DSA_SHAKE_256', m, 'EXTERNAL_MU');
      // A signature over μ is an ordinary ML-DSA signature of the message.
      assert.ok(NOBLE[spec].verify(sigMu, message, pk), 'noble verifies the μ signature');
      await verify(keyId, 'ML_DSA_SHAKE_256', message, sigMu, 'RAW');
      await verify(keyId, 'ML_DSA_SHAKE_256', m, sig, 'EXTERNAL_MU');
    });
  }

  it('tampered signatures, messages and μ fail with KMSInvalidSignatureException', async () => {
    const keyId = await createKey('ML_DSA_44');
    const message = Buffer.from('signed');
    const sig = await sign(keyId, 'ML_DSA_SHAKE_256', message);
    const flipped = Buffer.from(sig);
    flipped[100] = (flipped[100] as number) ^ 0x01;
    const err = await expectAwsError(
      verify(keyId, 'ML_DSA_SHAKE_256', message, flipped),
      'KMSInvalidSignatureException',
    );
    assert.equal(err.$metadata?.httpStatusCode, 400);
    await expectAwsError(
      verify(keyId, 'ML_DSA_SHAKE_256', Buffer.from('signeD'), sig),
      'KMSInvalidSignatureException',
    );
    await expectAwsError(
      verify(keyId, 'ML_DSA_SHAKE_256', message, sig.subarray(0, sig.length - 1)),
      'KMSInvalidSignatureException',
    );
    // The RAW signature checked as if the message were μ.
    await expectAwsError(
      verify(
        keyId,
        'ML_DSA_SHAKE_256',
        createHash('sha512').update(message).digest(),
        sig,
        'EXTERNAL_MU',
      ),
      'KMSInvalidSignatureException',
    );
    // Another ML-DSA key's signature.
    const other = await createKey('ML_DSA_44');
    await expectAwsError(
      verify(other, 'ML_DSA_SHAKE_256', message, sig),
      'KMSInvalidSignatureException',
    );
  });

  it('wrong MessageType, μ length, algorithm or usage → AWS errors, nothing signed', async () => {
    const keyId = await createKey('ML_DSA_65');
    await expectAwsError(
      sign(keyId, 'ML_DSA_SHAKE_256', Buffer.alloc(64), 'DIGEST'),
      'ValidationException',
    );
    for (const n of [32, 63, 65]) {
      await expectAwsError(
        sign(keyId, 'ML_DSA_SHAKE_256', Buffer.alloc(n), 'EXTERNAL_MU'),
        'ValidationException',
      );
    }
    await expectAwsError(
      sign(keyId, 'ECDSA_SHA_256', Buffer.from('m')),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      sign(keyId, 'ED25519_SHA_512', Buffer.from('m')),
      'InvalidKeyUsageException',
    );
    const p256 = await createKey('ECC_NIST_P256');
    await expectAwsError(
      sign(p256, 'ML_DSA_SHAKE_256', Buffer.from('m')),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      sign(p256, 'ECDSA_SHA_256', Buffer.alloc(64), 'EXTERNAL_MU'),
      'ValidationException',
    );
    for (const usage of ['ENCRYPT_DECRYPT', 'KEY_AGREEMENT', 'GENERATE_VERIFY_MAC']) {
      await expectAwsError(
        server.client.send(
          new CreateKeyCommand({ KeySpec: 'ML_DSA_44', KeyUsage: usage as 'SIGN_VERIFY' }),
        ),
        'ValidationException',
      );
    }
  });

  it('ImportKeyMaterial: a PKCS #8 seed signs under the public key the seed derives', async () => {
    const created = await server.client.send(
      new CreateKeyCommand({ KeySpec: 'ML_DSA_87', KeyUsage: 'SIGN_VERIFY', Origin: 'EXTERNAL' }),
    );
    const keyId = created.KeyMetadata?.Arn as string;
    const seed = randomBytes(32);
    // RFC 9881 seed form: PrivateKeyInfo { 0, id-ml-dsa-87, OCTET STRING { [0] seed } }.
    const pkcs8 = Buffer.concat([
      Buffer.from('3034020100300b060960864801650304031304228020', 'hex'),
      seed,
    ]);
    const wrongSpec = Buffer.concat([
      Buffer.from('3034020100300b060960864801650304031104228020', 'hex'),
      seed,
    ]);
    await expectAwsError(importMaterial(keyId, wrongSpec), 'IncorrectKeyMaterialException');
    await importMaterial(keyId, pkcs8);
    const pk = await rawPublicKey(keyId, 'ML_DSA_87');
    assert.deepEqual(pk, Buffer.from(ml_dsa87.keygen(seed).publicKey));
    const message = Buffer.from('imported');
    const sig = await sign(keyId, 'ML_DSA_SHAKE_256', message);
    assert.ok(ml_dsa87.verify(sig, message, pk));
  });
});

async function importMaterial(keyId: string, material: Buffer): Promise<void> {
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
  const rsa = publicEncrypt(
    {
      key: createPublicKey({
        key: Buffer.from(p.PublicKey as Uint8Array),
        format: 'der',
        type: 'spki',
      }),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
    },
    aes,
  );
  await server.client.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: p.ImportToken,
      EncryptedKeyMaterial: Buffer.concat([rsa, wrapped]),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
    }),
  );
}

describe('ED25519_PH_SHA_512', () => {
  it('signs a 64-byte SHA-512 digest as HashEdDSA (prehashed again, as AWS documents)', async () => {
    const keyId = await createKey('ECC_NIST_EDWARDS25519');
    const gp = await server.client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    assert.deepEqual(gp.SigningAlgorithms, ['ED25519_SHA_512', 'ED25519_PH_SHA_512']);
    const spki = createPublicKey({
      key: Buffer.from(gp.PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    });
    const point = Buffer.from(spki.export({ format: 'jwk' }).x as string, 'base64url');
    const digest = createHash('sha512').update('a large document').digest();
    const sig = await sign(keyId, 'ED25519_PH_SHA_512', digest, 'DIGEST');
    assert.equal(sig.length, 64);
    // Ed25519ph(M = digest): PH(M) = SHA-512(digest) is applied by the algorithm itself.
    assert.ok(ed25519ph.verify(sig, digest, point), 'RFC 8032 Ed25519ph verifies');
    await verify(keyId, 'ED25519_PH_SHA_512', digest, sig, 'DIGEST');
    // Ed25519ph is deterministic: the same digest, the same signature.
    assert.deepEqual(await sign(keyId, 'ED25519_PH_SHA_512', digest, 'DIGEST'), sig);
    // A pure Ed25519 signature over the same bytes is not an Ed25519ph signature.
    const pure = await sign(keyId, 'ED25519_SHA_512', digest);
    await expectAwsError(
      verify(keyId, 'ED25519_PH_SHA_512', digest, pure, 'DIGEST'),
      'KMSInvalidSignatureException',
    );
    const flipped = Buffer.from(sig);
    flipped[5] = (flipped[5] as number) ^ 0x80;
    await expectAwsError(
      verify(keyId, 'ED25519_PH_SHA_512', digest, flipped, 'DIGEST'),
      'KMSInvalidSignatureException',
    );
  });

  it('requires MessageType DIGEST of 64 bytes (and ED25519_SHA_512 requires RAW)', async () => {
    const keyId = await createKey('ECC_NIST_EDWARDS25519');
    await expectAwsError(
      sign(keyId, 'ED25519_PH_SHA_512', Buffer.from('raw message')),
      'ValidationException',
    );
    await expectAwsError(
      sign(keyId, 'ED25519_PH_SHA_512', Buffer.alloc(64), 'RAW'),
      'ValidationException',
    );
    await expectAwsError(
      sign(keyId, 'ED25519_PH_SHA_512', Buffer.alloc(32), 'DIGEST'),
      'ValidationException',
    );
    await expectAwsError(
      sign(keyId, 'ED25519_PH_SHA_512', Buffer.alloc(64), 'EXTERNAL_MU'),
      'ValidationException',
    );
    await expectAwsError(
      sign(keyId, 'ED25519_SHA_512', Buffer.alloc(64), 'DIGEST'),
      'ValidationException',
    );
    const p384 = await createKey('ECC_NIST_P384');
    await expectAwsError(
      sign(p384, 'ED25519_PH_SHA_512', Buffer.alloc(64), 'DIGEST'),
      'InvalidKeyUsageException',
    );
  });
});
