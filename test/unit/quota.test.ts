/**
 * Request quotas: token-bucket arithmetic on a fake clock, and the quota table against
 * the model's operations.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { OPERATION_NAMES } from '../../src/protocol/validate/index.js';
import {
  KEY_PAIR_QUOTAS,
  OPERATION_QUOTAS,
  quotaFor,
  RequestQuotas,
  symmetricRps,
  type Quota,
} from '../../src/quota/quotas.js';

const ACCT = '111122223333';
const REGION = 'us-east-1';
const createKey = OPERATION_QUOTAS.CreateKey;

function fake(): { t: number; quotas: (scale?: number) => RequestQuotas } {
  const clock = { t: 1_000_000 };
  return Object.assign(clock, {
    quotas: (scale?: number) =>
      new RequestQuotas({ now: () => clock.t, ...(scale === undefined ? {} : { scale }) }),
  });
}

function takeN(q: RequestQuotas, n: number, quota: Quota = createKey, acct = ACCT): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (q.tryTake(acct, REGION, quota)) ok++;
  return ok;
}

describe('token bucket', () => {
  it('starts full with one second of the rate, then refills at the rate', () => {
    const c = fake();
    const q = c.quotas();
    assert.equal(takeN(q, 10), 5); // CreateKey: 5/s, burst 5
    c.t += 200; // one token back
    assert.equal(takeN(q, 10), 1);
    c.t += 1000;
    assert.equal(takeN(q, 10), 5);
    c.t += 60_000; // never more than the burst
    assert.equal(takeN(q, 10), 5);
  });

  it('accumulates fractions of a token', () => {
    const c = fake();
    const q = c.quotas();
    takeN(q, 5);
    for (let i = 0; i < 3; i++) {
      c.t += 66; // 0.33 token each
      assert.equal(q.tryTake(ACCT, REGION, createKey), false);
    }
    c.t += 3; // 201 ms in all → 1.005 tokens
    assert.equal(q.tryTake(ACCT, REGION, createKey), true);
    assert.ok(Math.abs((q.tokens(ACCT, REGION, createKey) ?? NaN) - 0.005) < 1e-9);
  });

  it('allows one request per interval for quotas under 1/s', () => {
    const c = fake();
    const q = c.quotas();
    const gpfi = OPERATION_QUOTAS.GetParametersForImport; // 0.25/s: 1 in each 4 s
    assert.equal(takeN(q, 3, gpfi), 1);
    c.t += 3999;
    assert.equal(takeN(q, 1, gpfi), 0);
    c.t += 1;
    assert.equal(takeN(q, 3, gpfi), 1);
  });

  it('scales every rate and burst', () => {
    const c = fake();
    const q = c.quotas(0.2); // CreateKey 1/s
    assert.equal(takeN(q, 5), 1);
    c.t += 1000;
    assert.equal(takeN(q, 5), 1);
    const big = fake().quotas(10);
    assert.equal(takeN(big, 100), 50);
    assert.throws(() => fake().quotas(0), RangeError);
  });

  it("replaces an operation's rate when configured (unscaled), and only that one", () => {
    const c = { t: 1_000_000 };
    const q = new RequestQuotas({
      now: () => c.t,
      scale: 0.2,
      rps: { ListResourceTags: 0.1, Encrypt: 3 },
    });
    const tags = OPERATION_QUOTAS.ListResourceTags;
    assert.equal(takeN(q, 5, tags), 1); // 0.1/s: one in each 10 s
    c.t += 9_999;
    assert.equal(takeN(q, 5, tags), 0);
    c.t += 1;
    assert.equal(takeN(q, 5, tags), 1);
    assert.equal(takeN(q, 5, createKey), 1); // CreateKey keeps its scaled 5 × 0.2 = 1/s
    // Encrypt sets the shared symmetric quota, which Decrypt draws on too.
    assert.equal(takeN(q, 2, OPERATION_QUOTAS.Encrypt), 2);
    assert.equal(takeN(q, 5, OPERATION_QUOTAS.Decrypt), 1);
    assert.throws(() => new RequestQuotas({ now: () => 0, rps: { Nope: 1 } }), RangeError);
    assert.throws(() => new RequestQuotas({ now: () => 0, rps: { ListKeys: 0 } }), RangeError);
  });

  it('reads KEYHOLD_QUOTA_RPS and refuses what is not Operation=rate', () => {
    const env = (v: string) => ({ KEYHOLD_QUOTA_RPS: v });
    assert.deepEqual(loadConfig({}, env('ListResourceTags=0.1, CreateKey=20')).quotaRps, {
      ListResourceTags: 0.1,
      CreateKey: 20,
    });
    assert.deepEqual(loadConfig({}, {}).quotaRps, {});
    for (const bad of ['ListKeys', 'ListKeys=0', 'ListKeys=-1', 'ListKeys=fast', 'Nope=5'])
      assert.throws(() => loadConfig({}, env(bad)), ConfigError, bad);
  });

  it('keeps buckets per account, Region and quota', () => {
    const c = fake();
    const q = c.quotas();
    assert.equal(takeN(q, 10), 5);
    assert.equal(takeN(q, 10, createKey, '444455556666'), 5);
    assert.equal(q.tryTake(ACCT, 'eu-west-1', createKey), true);
    assert.equal(q.tryTake(ACCT, REGION, OPERATION_QUOTAS.CreateAlias), true);
  });

  it('refills nothing when the clock moves backwards', () => {
    const c = fake();
    const q = c.quotas();
    takeN(q, 5);
    c.t -= 10_000;
    assert.equal(takeN(q, 1), 0);
    c.t += 200;
    assert.equal(takeN(q, 1), 1);
  });

  it('uses the Region tier of the symmetric shared quota', () => {
    assert.equal(symmetricRps('us-east-1'), 100_000);
    assert.equal(symmetricRps('eu-central-1'), 20_000);
    assert.equal(symmetricRps('sa-east-1'), 10_000);
    const c = fake();
    const q = c.quotas(0.001); // sa-east-1: 10/s; us-east-1: 100/s
    let sa = 0;
    let us = 0;
    for (let i = 0; i < 200; i++) {
      if (q.tryTake(ACCT, 'sa-east-1', OPERATION_QUOTAS.Encrypt)) sa++;
      if (q.tryTake(ACCT, 'us-east-1', OPERATION_QUOTAS.Encrypt)) us++;
    }
    assert.deepEqual([sa, us], [10, 100]);
  });
});

describe('quota table', () => {
  it('covers every one of the 54 KMS operations, and nothing else', () => {
    assert.equal(OPERATION_NAMES.length, 54);
    assert.deepEqual(Object.keys(OPERATION_QUOTAS).sort(), [...OPERATION_NAMES].sort());
    for (const [op, q] of Object.entries(OPERATION_QUOTAS)) {
      assert.ok(q.rps > 0, op);
      assert.match(q.quota, / request rate$/, op);
    }
  });

  it('has AWS documented defaults', () => {
    assert.equal(OPERATION_QUOTAS.CreateKey.rps, 5);
    assert.equal(OPERATION_QUOTAS.DescribeKey.rps, 2000);
    assert.equal(OPERATION_QUOTAS.CreateGrant.rps, 50);
    assert.equal(OPERATION_QUOTAS.RevokeGrant.rps, 15);
    assert.equal(OPERATION_QUOTAS.ListKeys.rps, 100);
    assert.equal(OPERATION_QUOTAS.GetParametersForImport.rps, 0.25);
    assert.equal(KEY_PAIR_QUOTAS.RSA_4096.rps, 0.1);
    assert.equal(KEY_PAIR_QUOTAS.ECC_NIST_P256.rps, 25);
  });

  it('shares one quota among the symmetric cryptographic operations', () => {
    const shared = [
      'Decrypt',
      'Encrypt',
      'GenerateDataKey',
      'GenerateDataKeyWithoutPlaintext',
      'GenerateMac',
      'GenerateRandom',
      'ReEncrypt',
      'VerifyMac',
    ] as const;
    for (const op of shared)
      assert.equal(quotaFor(op, {}).quota, 'Cryptographic operations (symmetric) request rate', op);
  });

  it('refines by the key type the request names', () => {
    const rsa = 'Cryptographic operations (RSA) request rate';
    const ecc = 'Cryptographic operations (ECC) request rate';
    const sym = 'Cryptographic operations (symmetric) request rate';
    assert.equal(quotaFor('Sign', { SigningAlgorithm: 'ECDSA_SHA_256' }).quota, ecc);
    assert.equal(quotaFor('Verify', { SigningAlgorithm: 'RSASSA_PSS_SHA_256' }).quota, rsa);
    assert.equal(quotaFor('Encrypt', { EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }).quota, rsa);
    assert.equal(quotaFor('Decrypt', { EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }).quota, sym);
    assert.equal(quotaFor('Decrypt', { EncryptionAlgorithm: 'SM2PKE' }).quota, ecc);
    assert.equal(
      quotaFor('ReEncrypt', { SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }).quota,
      rsa,
    );
    assert.equal(quotaFor('DeriveSharedSecret', {}).quota, ecc);
    assert.deepEqual(
      quotaFor('GenerateDataKeyPairWithoutPlaintext', { KeyPairSpec: 'RSA_3072' }),
      KEY_PAIR_QUOTAS.RSA_3072,
    );
    assert.deepEqual(
      quotaFor('GenerateDataKeyPair', { KeyPairSpec: 'ECC_NIST_P384' }),
      KEY_PAIR_QUOTAS.ECC_NIST_P384,
    );
  });
});
