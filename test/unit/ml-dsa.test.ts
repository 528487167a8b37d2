/**
 * ML-DSA (FIPS 204) and Ed25519ph (RFC 8032) known-answer tests for keyhold's signing layer:
 * NIST ACVP vectors (test/fixtures/ml-dsa/acvp-fips204.json: keyGen, deterministic sigGen for
 * the pure interface with the empty context — what Sign RAW does — and for external μ,
 * sigVer for external μ, accepted and rejected), the RFC 8032 §7.3 Ed25519ph vector, and the
 * DER encodings GetPublicKey / ImportKeyMaterial use (RFC 9881), also read by `openssl
 * asn1parse` (OpenSSL 3.0 has no ML-DSA or Ed25519ph to sign or verify with).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signWith, verifyWith, verifyWithSpki } from '../../src/hsm/asymmetric.js';
import {
  generateMlDsaKeyPair,
  mlDsaPkcs8,
  mlDsaPrivateKey,
  mlDsaSign,
  mlDsaSpki,
  mlDsaVerify,
  parseMlDsaPkcs8,
  parseMlDsaSpki,
  type MlDsaLevel,
} from '../../src/hsm/ml-dsa.js';
import { HsmError } from '../../src/hsm/hsm-error.js';
import { checkImportedMaterial } from '../../src/hsm/key-import.js';

interface Acvp {
  keyGen: { tcId: number; level: MlDsaLevel; seed: string; pkSha256: string; skSha256: string }[];
  sigGenPure: {
    tcId: number;
    level: MlDsaLevel;
    sk: string;
    message: string;
    signatureSha256: string;
  }[];
  sigGenMu: { tcId: number; level: MlDsaLevel; sk: string; mu: string; signatureSha256: string }[];
  sigVerMu: {
    tcId: number;
    level: MlDsaLevel;
    pk: string;
    mu: string;
    signature: string;
    testPassed: boolean;
  }[];
}

const acvp = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/ml-dsa/acvp-fips204.json', import.meta.url), 'utf8'),
) as Acvp;
const hex = (s: string) => Buffer.from(s, 'hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const DETERMINISTIC = new Uint8Array(32);
const ML_DSA = { family: 'ML_DSA', hash: 'shake256' } as const;

describe('ML-DSA known answers (NIST ACVP, FIPS 204)', () => {
  for (const t of acvp.keyGen) {
    it(`keyGen ML-DSA-${t.level} (tcId ${t.tcId}): seed → public and secret key`, () => {
      const seed = hex(t.seed);
      const pair = generateMlDsaKeyPair(t.level, seed);
      const spki = parseMlDsaSpki(pair.publicKey);
      assert.equal(spki?.level, t.level);
      assert.equal(sha256(spki.publicKey), t.pkSha256);
      // The sealed PKCS #8 holds the seed; expanding it gives ACVP's secret key.
      const parsed = parseMlDsaPkcs8(pair.privateKey);
      assert.deepEqual(parsed?.seed, seed);
      const key = mlDsaPrivateKey(t.level, parsed.seed);
      assert.equal(sha256(key.secretKey), t.skSha256);
    });
  }
  for (const t of acvp.sigGenPure) {
    it(`sigGen ML-DSA-${t.level} (tcId ${t.tcId}): pure, empty context, deterministic`, () => {
      const sig = mlDsaSign(t.level, hex(t.sk), hex(t.message), 'RAW', DETERMINISTIC);
      assert.equal(sha256(sig), t.signatureSha256);
    });
  }
  for (const t of acvp.sigGenMu) {
    it(`sigGen ML-DSA-${t.level} (tcId ${t.tcId}): external μ, deterministic`, () => {
      const sig = mlDsaSign(t.level, hex(t.sk), hex(t.mu), 'EXTERNAL_MU', DETERMINISTIC);
      assert.equal(sha256(sig), t.signatureSha256);
    });
  }
  for (const t of acvp.sigVerMu) {
    it(`sigVer ML-DSA-${t.level} (tcId ${t.tcId}): external μ → ${t.testPassed}`, () => {
      const pk = hex(t.pk);
      assert.equal(
        mlDsaVerify(t.level, pk, hex(t.mu), hex(t.signature), 'EXTERNAL_MU'),
        t.testPassed,
      );
      // The same through the SPKI path Verify uses.
      const spki = mlDsaSpki(t.level, pk);
      assert.equal(
        verifyWithSpki(spki, hex(t.mu), hex(t.signature), ML_DSA, 'EXTERNAL_MU'),
        t.testPassed,
      );
    });
  }
});

describe('ML-DSA encodings (RFC 9881) and the signing layer', () => {
  it('SPKI and PKCS #8 (seed form) have the RFC 9881 layout; openssl asn1parse reads them', () => {
    const seed = Buffer.alloc(32, 7);
    for (const [level, oidByte, spkiHead] of [
      [44, '11', '3082053230'],
      [65, '12', '308207b230'],
      [87, '13', '30820a3230'],
    ] as const) {
      const pair = generateMlDsaKeyPair(level, seed);
      assert.equal(pair.publicKey.subarray(0, 5).toString('hex'), spkiHead);
      assert.equal(
        pair.publicKey.subarray(4, 17).toString('hex'),
        `300b06096086480165030403${oidByte}`,
      );
      assert.equal(
        pair.privateKey.toString('hex'),
        `3034020100300b06096086480165030403${oidByte}04228020${seed.toString('hex')}`,
      );
      const asn1 = execFileSync('openssl', ['asn1parse', '-inform', 'DER'], {
        input: pair.publicKey,
      }).toString();
      assert.match(
        asn1,
        new RegExp(`OBJECT +:2\\.16\\.840\\.1\\.101\\.3\\.4\\.3\\.${parseInt(oidByte, 16)}`),
      );
      assert.match(asn1, /BIT STRING/);
    }
  });

  it('parseMlDsaSpki refuses other keys and tampered encodings', () => {
    const { publicKey } = generateMlDsaKeyPair(65, Buffer.alloc(32, 1));
    assert.ok(parseMlDsaSpki(publicKey));
    assert.equal(parseMlDsaSpki(publicKey.subarray(0, publicKey.length - 1)), undefined);
    const wrongOid = Buffer.from(publicKey);
    wrongOid[16] = 0x12 + 1; // id-ml-dsa-87 OID with a 65-sized key
    assert.equal(parseMlDsaSpki(wrongOid), undefined);
    assert.equal(parseMlDsaSpki(Buffer.from('302a300506032b6570032100', 'hex')), undefined);
  });

  it('PKCS #8: seed and matching "both" forms import; expanded-only, mismatched and other keys do not', () => {
    const seed = Buffer.alloc(32, 9);
    const expected = { kind: 'key-pair', params: { type: 'ml-dsa', level: 44 } } as const;
    const canonical = mlDsaPkcs8(44, seed);
    const out = checkImportedMaterial(Buffer.from(canonical), expected);
    assert.deepEqual(out.material, canonical);
    assert.deepEqual(out.publicKey, generateMlDsaKeyPair(44, seed).publicKey);

    const expandedKey = Buffer.from(mlDsaPrivateKey(44, seed).secretKey);
    const both = (sk: Buffer) => {
      const inner = Buffer.concat([
        Buffer.from('04', 'hex'),
        Buffer.from([32]),
        seed,
        Buffer.from([0x04, 0x82, sk.length >> 8, sk.length & 0xff]),
        sk,
      ]);
      const seq = Buffer.concat([
        Buffer.from([0x30, 0x82, inner.length >> 8, inner.length & 0xff]),
        inner,
      ]);
      const oct = Buffer.concat([
        Buffer.from([0x04, 0x82, seq.length >> 8, seq.length & 0xff]),
        seq,
      ]);
      const body = Buffer.concat([Buffer.from('020100300b0609608648016503040311', 'hex'), oct]);
      return Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body]);
    };
    assert.deepEqual(checkImportedMaterial(both(expandedKey), expected).material, canonical);
    const tampered = Buffer.from(expandedKey);
    tampered[100] = (tampered[100] as number) ^ 1;
    assertIncorrect(() => checkImportedMaterial(both(tampered), expected));
    // expandedKey only: PrivateKeyInfo { 0, id-ml-dsa-44, OCTET STRING { OCTET STRING sk } }.
    const len = (n: number) => Buffer.from([0x82, n >> 8, n & 0xff]);
    const inner = Buffer.concat([Buffer.from([0x04]), len(expandedKey.length), expandedKey]);
    const body = Buffer.concat([
      Buffer.from('020100300b0609608648016503040311', 'hex'),
      Buffer.from([0x04]),
      len(inner.length),
      inner,
    ]);
    const expandedOnly = Buffer.concat([Buffer.from([0x30]), len(body.length), body]);
    assertIncorrect(() => checkImportedMaterial(expandedOnly, expected));
    // The same seed for another parameter set, an Ed25519 key, and garbage.
    assertIncorrect(() => checkImportedMaterial(mlDsaPkcs8(65, seed), expected));
    assertIncorrect(() =>
      checkImportedMaterial(
        Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
        expected,
      ),
    );
    assertIncorrect(() => checkImportedMaterial(Buffer.from('3003020100', 'hex'), expected));
  });

  it('RAW signatures are hedged (two differ) and both verify through the SPKI; EXTERNAL_MU too', () => {
    const pair = generateMlDsaKeyPair(87, Buffer.alloc(32, 5));
    const key = mlDsaPrivateKey(87, parseMlDsaPkcs8(pair.privateKey)?.seed ?? Buffer.alloc(0));
    const msg = Buffer.from('keyhold');
    const a = signWith(key, msg, ML_DSA, 'RAW');
    const b = signWith(key, msg, ML_DSA, 'RAW');
    assert.notDeepEqual(a, b);
    assert.equal(a.length, 4627);
    assert.ok(verifyWithSpki(pair.publicKey, msg, a, ML_DSA, 'RAW'));
    assert.ok(verifyWithSpki(pair.publicKey, msg, b, ML_DSA, 'RAW'));
    // μ = SHAKE256(tr || M', 64), tr = SHAKE256(pk, 64), M' = 0 || |ctx| || ctx || M (ctx empty).
    const pk = parseMlDsaSpki(pair.publicKey)?.publicKey ?? Buffer.alloc(0);
    const tr = createHash('shake256', { outputLength: 64 }).update(pk).digest();
    const mu = createHash('shake256', { outputLength: 64 })
      .update(tr)
      .update(Buffer.from([0, 0]))
      .update(msg)
      .digest();
    const viaMu = signWith(key, mu, ML_DSA, 'EXTERNAL_MU');
    assert.ok(verifyWithSpki(pair.publicKey, msg, viaMu, ML_DSA, 'RAW'), 'μ signature = RAW one');
    assert.ok(verifyWithSpki(pair.publicKey, mu, a, ML_DSA, 'EXTERNAL_MU'), 'RAW signature on μ');
    // Tampering: one bit of the signature, of the message, or the wrong interface.
    const bad = Buffer.from(a);
    bad[10] = (bad[10] as number) ^ 1;
    assert.equal(verifyWithSpki(pair.publicKey, msg, bad, ML_DSA, 'RAW'), false);
    assert.equal(verifyWithSpki(pair.publicKey, Buffer.from('keyhole'), a, ML_DSA, 'RAW'), false);
    assert.equal(verifyWithSpki(pair.publicKey, msg, a, ML_DSA, 'EXTERNAL_MU'), false);
    assert.equal(verifyWithSpki(pair.publicKey, msg, a.subarray(1), ML_DSA, 'RAW'), false);
  });
});

/** hsm/'s 'invalid-key' (IncorrectKeyMaterialException at the KMS boundary, kms/crypto/hsm-errors.ts). */
function assertIncorrect(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof HsmError && e.kind === 'invalid-key');
}

describe('Ed25519ph (RFC 8032 §7.3, HashEdDSA with SHA-512)', () => {
  const secret = hex('833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42');
  const expected =
    '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41' +
    '31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406';
  const ph = { family: 'ED25519_PH', hash: 'sha512' } as const;
  const privateKey = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]),
    format: 'der',
    type: 'pkcs8',
  });

  it('signs "abc" to the RFC signature and verifies it; the public key is the RFC one', async () => {
    const { createPublicKey } = await import('node:crypto');
    const pub = createPublicKey(privateKey);
    const x = Buffer.from(pub.export({ format: 'jwk' }).x ?? '', 'base64url');
    assert.equal(
      x.toString('hex'),
      'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    );
    const sig = signWith(privateKey, Buffer.from('abc'), ph, 'DIGEST');
    assert.equal(sig.toString('hex'), expected);
    assert.ok(verifyWith(pub, Buffer.from('abc'), sig, ph, 'DIGEST'));
    const bad = Buffer.from(sig);
    bad[0] = (bad[0] as number) ^ 1;
    assert.equal(verifyWith(pub, Buffer.from('abc'), bad, ph, 'DIGEST'), false);
    // Pure Ed25519 over the same bytes is a different signature and does not verify as ph.
    const pure = signWith(
      privateKey,
      Buffer.from('abc'),
      { family: 'ED25519', hash: 'sha512' },
      'RAW',
    );
    assert.notEqual(pure.toString('hex'), expected);
    assert.equal(verifyWith(pub, Buffer.from('abc'), pure, ph, 'DIGEST'), false);
  });
});
