/**
 * The key-spec table against the model, and the DIGEST signing primitives (which Node has
 * no API for) cross-checked against Node's own crypto.sign / crypto.verify.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, verify, constants } from 'node:crypto';
import { signWith, verifyWith } from '../../src/hsm/asymmetric.js';
import type { SignatureScheme } from '../../src/hsm/hsm.js';
import { KMS_MODEL } from '../../src/protocol/model/kms-model.js';
import {
  algorithmsFor,
  allowsUsage,
  DATA_KEY_PAIR_SPECS,
  KEY_SPECS,
  MAC_ALGORITHMS,
  oaepPlaintextLimit,
  SIGNING_ALGORITHMS,
} from '../../src/kms/keys/key-specs.js';

const enumOf = (name: string): string[] => [...(KMS_MODEL.shapes[name]?.enum ?? [])];

describe('key spec table', () => {
  it('covers every KeySpec, SigningAlgorithmSpec, MacAlgorithmSpec and DataKeyPairSpec of the model', () => {
    assert.deepEqual(Object.keys(KEY_SPECS).sort(), enumOf('KeySpec').sort());
    assert.deepEqual(Object.keys(SIGNING_ALGORITHMS).sort(), enumOf('SigningAlgorithmSpec').sort());
    assert.deepEqual(Object.keys(MAC_ALGORITHMS).sort(), enumOf('MacAlgorithmSpec').sort());
    assert.deepEqual(Object.keys(DATA_KEY_PAIR_SPECS).sort(), enumOf('DataKeyPairSpec').sort());
  });

  it('allows the usages the model documents per spec', () => {
    const usages = (spec: string) =>
      ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'].filter((u) =>
        allowsUsage(spec, u),
      );
    assert.deepEqual(usages('SYMMETRIC_DEFAULT'), ['ENCRYPT_DECRYPT']);
    for (const s of ['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'])
      assert.deepEqual(usages(s), ['GENERATE_VERIFY_MAC']);
    for (const s of ['RSA_2048', 'RSA_3072', 'RSA_4096'])
      assert.deepEqual(usages(s), ['ENCRYPT_DECRYPT', 'SIGN_VERIFY']);
    for (const s of ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521'])
      assert.deepEqual(usages(s), ['SIGN_VERIFY', 'KEY_AGREEMENT']);
    assert.deepEqual(usages('ECC_SECG_P256K1'), ['SIGN_VERIFY']);
    assert.deepEqual(usages('ECC_NIST_EDWARDS25519'), ['SIGN_VERIFY']);
    assert.deepEqual(usages('SM2'), ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT']);
  });

  it('lists AWS algorithms per spec and usage', () => {
    assert.deepEqual(algorithmsFor('RSA_4096', 'ENCRYPT_DECRYPT'), [
      'RSAES_OAEP_SHA_1',
      'RSAES_OAEP_SHA_256',
    ]);
    assert.equal(algorithmsFor('RSA_2048', 'SIGN_VERIFY').length, 6);
    assert.deepEqual(algorithmsFor('ECC_NIST_P384', 'SIGN_VERIFY'), ['ECDSA_SHA_384']);
    assert.deepEqual(algorithmsFor('ECC_NIST_P521', 'KEY_AGREEMENT'), ['ECDH']);
    assert.deepEqual(algorithmsFor('HMAC_384', 'GENERATE_VERIFY_MAC'), ['HMAC_SHA_384']);
    assert.deepEqual(algorithmsFor('ECC_NIST_P256', 'ENCRYPT_DECRYPT'), []);
  });

  it('marks SM2 unsupported, everything else (ML-DSA included) supported', () => {
    for (const [spec, info] of Object.entries(KEY_SPECS)) {
      const expected = spec !== 'SM2';
      assert.equal(info.supported, expected, spec);
      if (!expected) assert.ok(info.unsupportedReason, spec);
    }
  });

  it('has AWS key lengths for HMAC and the AWS OAEP plaintext limits', () => {
    assert.deepEqual(
      ['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'].map((s) => KEY_SPECS[s]?.hmacKeyBytes),
      [28, 32, 48, 64],
    );
    const limits = ['RSA_2048', 'RSA_3072', 'RSA_4096'].map((s) =>
      ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'].map((a) =>
        oaepPlaintextLimit(KEY_SPECS[s]?.modulusBytes ?? 0, a),
      ),
    );
    assert.deepEqual(limits, [
      [214, 190],
      [342, 318],
      [470, 446],
    ]);
  });
});

describe('DIGEST signing primitives agree with Node crypto', () => {
  const message = Buffer.from('keyhold digest signing cross-check');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cases: {
    name: string;
    scheme: SignatureScheme;
    pair: ReturnType<typeof generateKeyPairSync>;
  }[] = [];
  for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
    cases.push({ name: `RSA_PSS ${hash}`, scheme: { family: 'RSA_PSS', hash }, pair: rsa });
    cases.push({ name: `RSA_PKCS1 ${hash}`, scheme: { family: 'RSA_PKCS1', hash }, pair: rsa });
  }
  const curves = [
    ['prime256v1', 'sha256'],
    ['secp384r1', 'sha384'],
    ['secp521r1', 'sha512'],
    ['secp256k1', 'sha256'],
  ] as const;
  for (const [curve, hash] of curves) {
    cases.push({
      name: `ECDSA ${curve}`,
      scheme: { family: 'ECDSA', hash },
      pair: generateKeyPairSync('ec', { namedCurve: curve }),
    });
  }
  const nodeOpts = (scheme: SignatureScheme) =>
    scheme.family === 'RSA_PSS'
      ? {
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: { sha256: 32, sha384: 48, sha512: 64 }[scheme.hash],
        }
      : {};

  it('RSA_PKCS1 DIGEST: a signature with its leading zero byte cut is not valid (as OpenSSL)', () => {
    const scheme = { family: 'RSA_PKCS1', hash: 'sha256' } as const;
    // About one signature in 256 starts with 0x00; search (deterministic PKCS#1 v1.5).
    for (let i = 0; ; i++) {
      const digest = createHash('sha256').update(`m${i}`).digest();
      const sig = signWith(rsa.privateKey, digest, scheme, 'DIGEST');
      if (sig[0] !== 0) continue;
      assert.ok(verifyWith(rsa.publicKey, digest, sig, scheme, 'DIGEST'));
      assert.equal(verifyWith(rsa.publicKey, digest, sig.subarray(1), scheme, 'DIGEST'), false);
      break;
    }
  });

  for (const c of cases) {
    it(`${c.name}: digest signature verifies with crypto.verify over the message, and back`, () => {
      const digest = createHash(c.scheme.hash).update(message).digest();
      const sig = signWith(c.pair.privateKey, digest, c.scheme, 'DIGEST');
      assert.ok(
        verify(c.scheme.hash, message, { key: c.pair.publicKey, ...nodeOpts(c.scheme) }, sig),
      );
      const nodeSig = sign(c.scheme.hash, message, {
        key: c.pair.privateKey,
        ...nodeOpts(c.scheme),
      });
      assert.ok(verifyWith(c.pair.publicKey, digest, nodeSig, c.scheme, 'DIGEST'));
      assert.ok(verifyWith(c.pair.publicKey, message, sig, c.scheme, 'RAW'));
      const bad = Buffer.from(digest);
      bad[0] = (bad[0] as number) ^ 1;
      assert.equal(verifyWith(c.pair.publicKey, bad, sig, c.scheme, 'DIGEST'), false);
      assert.equal(
        verifyWith(c.pair.publicKey, digest, sig.subarray(1), c.scheme, 'DIGEST'),
        false,
      );
    });
  }
});
