/**
 * Asymmetric KMS keys through the real AWS SDK: CreateKey for every supported spec and usage,
 * GetPublicKey, Sign / Verify (RAW and DIGEST, every signing algorithm of each spec, checked
 * with Node's crypto.verify), RSA Encrypt / Decrypt / ReEncrypt, GenerateDataKeyPair*,
 * DeriveSharedSecret (checked against Node's ECDH), and the AWS errors for misuse.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  verify,
  type KeyObject,
} from 'node:crypto';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GetPublicKeyCommand,
  ReEncryptCommand,
  SignCommand,
  VerifyCommand,
  type DataKeyPairSpec,
  type EncryptionAlgorithmSpec,
  type KeySpec,
  type KeyUsageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { expectAwsError, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
const keys = new Map<string, string>();

async function createKey(spec: string, usage: string): Promise<string> {
  const id = `${spec}/${usage}`;
  const have = keys.get(id);
  if (have !== undefined) return have;
  const out = await server.client.send(
    new CreateKeyCommand({ KeySpec: spec as KeySpec, KeyUsage: usage as KeyUsageType }),
  );
  const arn = out.KeyMetadata?.Arn;
  assert.ok(arn);
  keys.set(id, arn);
  return arn;
}

async function publicKey(keyId: string): Promise<KeyObject> {
  const out = await server.client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  assert.ok(out.PublicKey);
  return createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' });
}

const HASH = { SHA_256: 'sha256', SHA_384: 'sha384', SHA_512: 'sha512' } as const;
function hashOf(alg: string): 'sha256' | 'sha384' | 'sha512' {
  const suffix = alg.slice(-7) as keyof typeof HASH;
  return HASH[suffix];
}

/** Node crypto.verify options for an AWS signing algorithm. */
function nodeVerify(alg: string, key: KeyObject, message: Buffer, sig: Buffer): boolean {
  if (alg === 'ED25519_SHA_512') return verify(null, message, key, sig);
  const hash = hashOf(alg);
  const opts = alg.startsWith('RSASSA_PSS')
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(hash).digest().length }
    : alg.startsWith('RSASSA_PKCS1')
      ? { padding: constants.RSA_PKCS1_PADDING }
      : {};
  return verify(hash, message, { key, ...opts }, sig);
}

const SIGNING: Record<string, string[]> = {
  RSA_2048: [
    'RSASSA_PSS_SHA_256',
    'RSASSA_PSS_SHA_384',
    'RSASSA_PSS_SHA_512',
    'RSASSA_PKCS1_V1_5_SHA_256',
    'RSASSA_PKCS1_V1_5_SHA_384',
    'RSASSA_PKCS1_V1_5_SHA_512',
  ],
  RSA_3072: ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384'],
  RSA_4096: ['RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256'],
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  ECC_NIST_P384: ['ECDSA_SHA_384'],
  ECC_NIST_P521: ['ECDSA_SHA_512'],
  ECC_SECG_P256K1: ['ECDSA_SHA_256'],
  ECC_NIST_EDWARDS25519: ['ED25519_SHA_512'],
};

before(async () => {
  server = await startTestServer();
});

after(async () => {
  await server.stop();
});

describe('CreateKey and DescribeKey for asymmetric specs', () => {
  it('reports the algorithms of the key usage', async () => {
    const cases: [string, string, string, string[]][] = [
      [
        'RSA_2048',
        'ENCRYPT_DECRYPT',
        'EncryptionAlgorithms',
        ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
      ],
      ['RSA_2048', 'SIGN_VERIFY', 'SigningAlgorithms', SIGNING.RSA_2048 ?? []],
      ['ECC_NIST_P256', 'KEY_AGREEMENT', 'KeyAgreementAlgorithms', ['ECDH']],
      [
        'ECC_NIST_EDWARDS25519',
        'SIGN_VERIFY',
        'SigningAlgorithms',
        ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
      ],
    ];
    for (const [spec, usage, field, algs] of cases) {
      const arn = await createKey(spec, usage);
      const md = (await server.client.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata;
      assert.ok(md);
      assert.equal(md.KeySpec, spec);
      assert.equal(md.CustomerMasterKeySpec, spec);
      assert.equal(md.KeyUsage, usage);
      assert.deepEqual((md as unknown as Record<string, unknown>)[field], algs);
      for (const other of [
        'EncryptionAlgorithms',
        'SigningAlgorithms',
        'KeyAgreementAlgorithms',
        'MacAlgorithms',
      ])
        if (other !== field)
          assert.equal((md as unknown as Record<string, unknown>)[other], undefined);
    }
  });

  it('requires KeyUsage for non-symmetric specs and a usage the spec allows', async () => {
    await expectAwsError(
      server.client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256' })),
      'ValidationException',
    );
    await expectAwsError(
      server.client.send(
        new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' }),
      ),
      'ValidationException',
    );
    await expectAwsError(
      server.client.send(
        new CreateKeyCommand({ KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'KEY_AGREEMENT' }),
      ),
      'ValidationException',
    );
  });

  it('refuses SM2 with UnsupportedOperationException', async () => {
    for (const spec of ['SM2'] as const) {
      await expectAwsError(
        server.client.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'SIGN_VERIFY' })),
        'UnsupportedOperationException',
      );
    }
  });
});

describe('GetPublicKey', () => {
  it('returns DER SPKI with spec, usage and algorithms', async () => {
    const arn = await createKey('RSA_3072', 'ENCRYPT_DECRYPT');
    const out = await server.client.send(new GetPublicKeyCommand({ KeyId: arn }));
    assert.equal(out.KeyId, arn);
    assert.equal(out.KeySpec, 'RSA_3072');
    assert.equal(out.CustomerMasterKeySpec, 'RSA_3072');
    assert.equal(out.KeyUsage, 'ENCRYPT_DECRYPT');
    assert.deepEqual(out.EncryptionAlgorithms, ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']);
    assert.equal(out.SigningAlgorithms, undefined);
    const pub = createPublicKey({
      key: Buffer.from(out.PublicKey ?? []),
      format: 'der',
      type: 'spki',
    });
    assert.equal(pub.asymmetricKeyDetails?.modulusLength, 3072);
  });

  it('refuses symmetric and HMAC keys', async () => {
    const sym = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn;
    const mac = await createKey('HMAC_256', 'GENERATE_VERIFY_MAC');
    for (const k of [sym, mac]) {
      await expectAwsError(
        server.client.send(new GetPublicKeyCommand({ KeyId: k })),
        'UnsupportedOperationException',
      );
    }
  });
});

describe('Sign and Verify', () => {
  const message = Buffer.from('the quick brown fox signs over the lazy dog');
  for (const [spec, algs] of Object.entries(SIGNING)) {
    for (const alg of algs) {
      const types = alg.startsWith('ED25519') ? ['RAW'] : ['RAW', 'DIGEST'];
      for (const messageType of types) {
        it(`${spec} ${alg} ${messageType}`, async () => {
          const arn = await createKey(spec, 'SIGN_VERIFY');
          const msg =
            messageType === 'DIGEST' ? createHash(hashOf(alg)).update(message).digest() : message;
          const out = await server.client.send(
            new SignCommand({
              KeyId: arn,
              Message: msg,
              MessageType: messageType as 'RAW' | 'DIGEST',
              SigningAlgorithm: alg as SigningAlgorithmSpec,
            }),
          );
          assert.equal(out.KeyId, arn);
          assert.equal(out.SigningAlgorithm, alg);
          const sig = Buffer.from(out.Signature ?? []);
          if (alg.startsWith('ECDSA')) assert.equal(sig[0], 0x30, 'DER-encoded ECDSA signature');
          // Outside keyhold: Node verifies the signature over the original message.
          assert.ok(nodeVerify(alg, await publicKey(arn), message, sig));
          // Inside keyhold: with either message type.
          const v = await server.client.send(
            new VerifyCommand({
              KeyId: arn,
              Message: msg,
              MessageType: messageType as 'RAW' | 'DIGEST',
              Signature: sig,
              SigningAlgorithm: alg as SigningAlgorithmSpec,
            }),
          );
          assert.equal(v.SignatureValid, true);
          assert.equal(v.SigningAlgorithm, alg);
          if (messageType === 'DIGEST') {
            const raw = await server.client.send(
              new VerifyCommand({
                KeyId: arn,
                Message: message,
                Signature: sig,
                SigningAlgorithm: alg as SigningAlgorithmSpec,
              }),
            );
            assert.equal(raw.SignatureValid, true);
          }
          const tampered = Buffer.from(msg);
          tampered[0] = (tampered[0] as number) ^ 0xff;
          await expectAwsError(
            server.client.send(
              new VerifyCommand({
                KeyId: arn,
                Message: tampered,
                MessageType: messageType as 'RAW' | 'DIGEST',
                Signature: sig,
                SigningAlgorithm: alg as SigningAlgorithmSpec,
              }),
            ),
            'KMSInvalidSignatureException',
          );
        });
      }
    }
  }

  it('rejects a wrong algorithm, usage, digest length and Ed25519 message types', async () => {
    const p256 = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const sign = (keyId: string, alg: string, msg: Buffer, type: 'RAW' | 'DIGEST' = 'RAW') =>
      server.client.send(
        new SignCommand({
          KeyId: keyId,
          Message: msg,
          MessageType: type,
          SigningAlgorithm: alg as SigningAlgorithmSpec,
        }),
      );
    await expectAwsError(sign(p256, 'ECDSA_SHA_384', message), 'InvalidKeyUsageException');
    await expectAwsError(sign(p256, 'RSASSA_PSS_SHA_256', message), 'InvalidKeyUsageException');
    await expectAwsError(
      sign(p256, 'ECDSA_SHA_256', Buffer.alloc(20), 'DIGEST'),
      'ValidationException',
    );
    const rsaEnc = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    await expectAwsError(sign(rsaEnc, 'RSASSA_PSS_SHA_256', message), 'InvalidKeyUsageException');
    const ed = await createKey('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
    await expectAwsError(
      sign(ed, 'ED25519_SHA_512', Buffer.alloc(64), 'DIGEST'),
      'ValidationException',
    );
    await expectAwsError(
      sign(ed, 'ED25519_PH_SHA_512', Buffer.alloc(64), 'RAW'),
      'ValidationException',
    );
    await server.client.send(
      new DisableKeyCommand({ KeyId: await createKey('ECC_NIST_P384', 'SIGN_VERIFY') }),
    );
    await expectAwsError(
      sign(await createKey('ECC_NIST_P384', 'SIGN_VERIFY'), 'ECDSA_SHA_384', message),
      'DisabledException',
    );
  });
});

describe('RSA Encrypt, Decrypt and ReEncrypt', () => {
  const limits: Record<string, [number, number]> = {
    RSA_2048: [214, 190],
    RSA_3072: [342, 318],
    RSA_4096: [470, 446],
  };
  for (const [spec, [sha1Limit, sha256Limit]] of Object.entries(limits)) {
    it(`${spec}: round trip at the AWS plaintext limits, one byte more is refused`, async () => {
      const arn = await createKey(spec, 'ENCRYPT_DECRYPT');
      for (const [alg, limit] of [
        ['RSAES_OAEP_SHA_1', sha1Limit],
        ['RSAES_OAEP_SHA_256', sha256Limit],
      ] as const) {
        const plaintext = Buffer.alloc(limit, 7);
        const enc = await server.client.send(
          new EncryptCommand({ KeyId: arn, Plaintext: plaintext, EncryptionAlgorithm: alg }),
        );
        assert.equal(enc.EncryptionAlgorithm, alg);
        assert.equal(enc.CiphertextBlob?.length, Number(spec.slice(4)) / 8, 'raw RSA ciphertext');
        const dec = await server.client.send(
          new DecryptCommand({
            KeyId: arn,
            CiphertextBlob: enc.CiphertextBlob,
            EncryptionAlgorithm: alg,
          }),
        );
        assert.deepEqual(Buffer.from(dec.Plaintext ?? []), plaintext);
        assert.equal(dec.EncryptionAlgorithm, alg);
        assert.equal(dec.KeyId, arn);
        const err = await expectAwsError(
          server.client.send(
            new EncryptCommand({
              KeyId: arn,
              Plaintext: Buffer.alloc(limit + 1),
              EncryptionAlgorithm: alg,
            }),
          ),
          'ValidationException',
        );
        assert.equal(
          err.message,
          `Algorithm ${alg} and key spec ${spec} cannot encrypt data larger than ${limit} bytes.`,
        );
      }
    });
  }

  it('decrypts what Node encrypts with the public key', async () => {
    const arn = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const pub = await publicKey(arn);
    for (const [alg, hash] of [
      ['RSAES_OAEP_SHA_1', 'sha1'],
      ['RSAES_OAEP_SHA_256', 'sha256'],
    ] as const) {
      const ct = publicEncrypt(
        { key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash },
        Buffer.from(`outside ${alg}`),
      );
      const dec = await server.client.send(
        new DecryptCommand({ KeyId: arn, CiphertextBlob: ct, EncryptionAlgorithm: alg }),
      );
      assert.equal(Buffer.from(dec.Plaintext ?? []).toString(), `outside ${alg}`);
    }
  });

  it('enforces AWS rules: algorithm required, KeyId required, no context, wrong algorithm fails', async () => {
    const arn = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    const pt = Buffer.from('x');
    await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: arn, Plaintext: pt })),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      server.client.send(
        new EncryptCommand({
          KeyId: arn,
          Plaintext: pt,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          EncryptionContext: { a: 'b' },
        }),
      ),
      'ValidationException',
    );
    const enc = await server.client.send(
      new EncryptCommand({ KeyId: arn, Plaintext: pt, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
    );
    await expectAwsError(
      server.client.send(
        new DecryptCommand({
          CiphertextBlob: enc.CiphertextBlob,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      ),
      'ValidationException',
    );
    await expectAwsError(
      server.client.send(
        new DecryptCommand({
          KeyId: arn,
          CiphertextBlob: enc.CiphertextBlob,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
        }),
      ),
      'InvalidCiphertextException',
    );
    const sym = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn;
    await expectAwsError(
      server.client.send(
        new EncryptCommand({ KeyId: sym, Plaintext: pt, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }),
      ),
      'InvalidKeyUsageException',
    );
    const signing = await createKey('RSA_2048', 'SIGN_VERIFY');
    await expectAwsError(
      server.client.send(
        new EncryptCommand({
          KeyId: signing,
          Plaintext: pt,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
        }),
      ),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      server.client.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256' })),
      'InvalidKeyUsageException',
    );
  });

  it('ReEncrypt from RSA to symmetric and back', async () => {
    const rsa = await createKey('RSA_4096', 'ENCRYPT_DECRYPT');
    const sym = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn;
    const enc = await server.client.send(
      new EncryptCommand({
        KeyId: rsa,
        Plaintext: Buffer.from('move me'),
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      }),
    );
    const toSym = await server.client.send(
      new ReEncryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        SourceKeyId: rsa,
        SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        DestinationKeyId: sym,
        DestinationEncryptionContext: { purpose: 'test' },
      }),
    );
    assert.equal(toSym.SourceKeyId, rsa);
    assert.equal(toSym.SourceEncryptionAlgorithm, 'RSAES_OAEP_SHA_256');
    assert.equal(toSym.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    const back = await server.client.send(
      new ReEncryptCommand({
        CiphertextBlob: toSym.CiphertextBlob,
        SourceEncryptionContext: { purpose: 'test' },
        DestinationKeyId: rsa,
        DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' as EncryptionAlgorithmSpec,
      }),
    );
    assert.equal(back.KeyId, rsa);
    assert.equal(back.DestinationEncryptionAlgorithm, 'RSAES_OAEP_SHA_1');
    const dec = await server.client.send(
      new DecryptCommand({
        KeyId: rsa,
        CiphertextBlob: back.CiphertextBlob,
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
      }),
    );
    assert.equal(Buffer.from(dec.Plaintext ?? []).toString(), 'move me');
  });
});

describe('GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext', () => {
  const specs = [
    'RSA_2048',
    'RSA_3072',
    'RSA_4096',
    'ECC_NIST_P256',
    'ECC_NIST_P384',
    'ECC_NIST_P521',
    'ECC_SECG_P256K1',
    'ECC_NIST_EDWARDS25519',
  ];
  for (const spec of specs) {
    it(`${spec}: PKCS#8 private key, its encrypted copy, and the DER SPKI public key`, async () => {
      const sym = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn;
      const ctxt = { pair: spec };
      const out = await server.client.send(
        new GenerateDataKeyPairCommand({
          KeyId: sym,
          KeyPairSpec: spec as DataKeyPairSpec,
          EncryptionContext: ctxt,
        }),
      );
      assert.equal(out.KeyId, sym);
      assert.equal(out.KeyPairSpec, spec);
      const priv = createPrivateKey({
        key: Buffer.from(out.PrivateKeyPlaintext ?? []),
        format: 'der',
        type: 'pkcs8',
      });
      const pub = createPublicKey({
        key: Buffer.from(out.PublicKey ?? []),
        format: 'der',
        type: 'spki',
      });
      assert.deepEqual(
        createPublicKey(priv).export({ format: 'der', type: 'spki' }),
        pub.export({ format: 'der', type: 'spki' }),
      );
      const dec = await server.client.send(
        new DecryptCommand({
          CiphertextBlob: out.PrivateKeyCiphertextBlob,
          EncryptionContext: ctxt,
        }),
      );
      assert.deepEqual(
        Buffer.from(dec.Plaintext ?? []),
        Buffer.from(out.PrivateKeyPlaintext ?? []),
      );

      const wp = await server.client.send(
        new GenerateDataKeyPairWithoutPlaintextCommand({
          KeyId: sym,
          KeyPairSpec: spec as DataKeyPairSpec,
        }),
      );
      assert.equal((wp as unknown as Record<string, unknown>).PrivateKeyPlaintext, undefined);
      assert.ok(wp.PublicKey && wp.PrivateKeyCiphertextBlob);
    });
  }

  it('needs a symmetric encryption key; SM2 is unsupported', async () => {
    const rsa = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    await expectAwsError(
      server.client.send(
        new GenerateDataKeyPairCommand({ KeyId: rsa, KeyPairSpec: 'ECC_NIST_P256' }),
      ),
      'InvalidKeyUsageException',
    );
    const sym = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.Arn;
    await expectAwsError(
      server.client.send(new GenerateDataKeyPairCommand({ KeyId: sym, KeyPairSpec: 'SM2' })),
      'UnsupportedOperationException',
    );
  });
});

describe('DeriveSharedSecret', () => {
  for (const [spec, curve] of [
    ['ECC_NIST_P256', 'prime256v1'],
    ['ECC_NIST_P384', 'secp384r1'],
    ['ECC_NIST_P521', 'secp521r1'],
  ] as const) {
    it(`${spec}: the secret equals Node's ECDH with the peer's private key`, async () => {
      const arn = await createKey(spec, 'KEY_AGREEMENT');
      const peer = generateKeyPairSync('ec', { namedCurve: curve });
      const out = await server.client.send(
        new DeriveSharedSecretCommand({
          KeyId: arn,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: peer.publicKey.export({ format: 'der', type: 'spki' }),
        }),
      );
      assert.equal(out.KeyId, arn);
      assert.equal(out.KeyAgreementAlgorithm, 'ECDH');
      assert.equal(out.KeyOrigin, 'AWS_KMS');
      const outside = diffieHellman({
        privateKey: peer.privateKey,
        publicKey: await publicKey(arn),
      });
      assert.deepEqual(Buffer.from(out.SharedSecret ?? []), outside);
    });
  }

  it('needs a KEY_AGREEMENT key and a peer key on the same curve', async () => {
    const signing = await createKey('ECC_NIST_P256', 'SIGN_VERIFY');
    const agreement = await createKey('ECC_NIST_P256', 'KEY_AGREEMENT');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    await expectAwsError(
      server.client.send(
        new DeriveSharedSecretCommand({
          KeyId: signing,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: p256,
        }),
      ),
      'InvalidKeyUsageException',
    );
    await expectAwsError(
      server.client.send(
        new DeriveSharedSecretCommand({
          KeyId: agreement,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: p384,
        }),
      ),
      'ValidationException',
    );
  });
});
