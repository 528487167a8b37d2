import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GRANT_OPERATIONS_BY_KEY_TYPE,
  checkGrantId,
  checkGrantOperations,
  checkPrincipalArn,
  decodeGrantToken,
  grantFingerprint,
  grantOperationsFor,
  mintGrantToken,
  newGrantId,
  principalMatches,
  toGrantListEntry,
} from '../../src/kms/access/grants.js';
import type { KeyRecord } from '../../src/storage/repository.js';

const key = (keySpec: string, keyUsage: string): KeyRecord => ({
  region: 'us-east-1',
  keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
  accountId: '111122223333',
  arn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  description: '',
  keyState: 'Enabled',
  keySpec,
  keyUsage,
  origin: 'AWS_KMS',
  keyManager: 'CUSTOMER',
  multiRegion: false,
  policy: '{}',
  creationDate: new Date(0),
  revision: 0,
});

const code = (name: string) => (err: unknown) => (err as Error).name === name;

describe('grant tokens', () => {
  it('are base64 of 65 bytes, distinct per mint, and decode to the stored hash', () => {
    const a = mintGrantToken();
    const b = mintGrantToken();
    assert.notEqual(a.token, b.token);
    assert.match(a.token, /^A[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(a.token, 'base64').length, 65);
    assert.deepEqual(decodeGrantToken(a.token), a.hash);
    assert.equal(a.hash.length, 32);
  });

  it('refuses tampered, truncated, re-encoded and foreign tokens', () => {
    const { token } = mintGrantToken();
    const bytes = Buffer.from(token, 'base64');
    const wrongVersion = Buffer.from(bytes);
    wrongVersion[0] = 2;
    for (const bad of [
      '',
      'not a token',
      token.slice(0, -4),
      `${token}AAAA`,
      wrongVersion.toString('base64'),
      bytes.toString('base64url'),
      bytes.subarray(0, 64).toString('base64'),
    ]) {
      assert.throws(() => decodeGrantToken(bad), code('InvalidGrantTokenException'), bad);
    }
  });

  it('a flipped byte still decodes (format is fine) but to a different hash', () => {
    const a = mintGrantToken();
    const bytes = Buffer.from(a.token, 'base64');
    bytes[40] = (bytes[40] ?? 0) ^ 1;
    assert.notDeepEqual(decodeGrantToken(bytes.toString('base64')), a.hash);
  });
});

describe('grant ids', () => {
  it('are 64 lowercase hex characters', () => {
    const id = newGrantId();
    assert.match(id, /^[0-9a-f]{64}$/);
    checkGrantId(id);
    for (const bad of ['', 'abc', id.toUpperCase(), `${id}0`, 'g'.repeat(64)])
      assert.throws(() => checkGrantId(bad), code('InvalidGrantIdException'));
  });
});

describe('grant operations per key type', () => {
  it('symmetric encryption keys allow exactly the symmetric operations', () => {
    assert.deepEqual([...grantOperationsFor(key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'))].sort(), [
      'CreateGrant',
      'Decrypt',
      'DescribeKey',
      'Encrypt',
      'GenerateDataKey',
      'GenerateDataKeyPair',
      'GenerateDataKeyPairWithoutPlaintext',
      'GenerateDataKeyWithoutPlaintext',
      'ReEncryptFrom',
      'ReEncryptTo',
      'RetireGrant',
    ]);
    const k = key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
    for (const op of [
      'Sign',
      'Verify',
      'GenerateMac',
      'VerifyMac',
      'GetPublicKey',
      'DeriveSharedSecret',
    ])
      assert.throws(
        () => checkGrantOperations(k, ['Encrypt', op]),
        code('ValidationException'),
        op,
      );
    checkGrantOperations(k, ['Encrypt', 'Decrypt', 'RetireGrant']);
  });

  it('other key types: no data keys for asymmetric, MAC only for HMAC', () => {
    assert.throws(
      () => checkGrantOperations(key('RSA_2048', 'SIGN_VERIFY'), ['GenerateDataKey']),
      code('ValidationException'),
    );
    checkGrantOperations(key('RSA_2048', 'SIGN_VERIFY'), ['Sign', 'Verify', 'GetPublicKey']);
    checkGrantOperations(key('HMAC_256', 'GENERATE_VERIFY_MAC'), ['GenerateMac', 'VerifyMac']);
    assert.throws(
      () => checkGrantOperations(key('HMAC_256', 'GENERATE_VERIFY_MAC'), ['Encrypt']),
      code('ValidationException'),
    );
    for (const ops of Object.values(GRANT_OPERATIONS_BY_KEY_TYPE))
      for (const common of ['CreateGrant', 'RetireGrant', 'DescribeKey'])
        assert.ok(ops.includes(common));
  });
});

describe('principals', () => {
  it('accepts account, user, role, assumed-role and federated-user ARNs', () => {
    assert.equal(checkPrincipalArn('arn:aws:iam::111122223333:root', 'P'), '111122223333');
    checkPrincipalArn('arn:aws:iam::111122223333:user/alice', 'P');
    checkPrincipalArn('arn:aws:iam::111122223333:role/path/r', 'P');
    assert.equal(
      checkPrincipalArn('arn:aws:sts::444455556666:assumed-role/r/s', 'P'),
      '444455556666',
    );
    checkPrincipalArn('arn:aws:sts::111122223333:federated-user/bob', 'P');
    for (const bad of [
      '111122223333',
      'alice',
      'arn:aws:iam::1:root',
      'arn:aws:iam::111122223333:group/g',
    ])
      assert.throws(() => checkPrincipalArn(bad, 'P'), code('InvalidArnException'), bad);
  });

  it('a role session matches its role', () => {
    const role = 'arn:aws:iam::111122223333:role/app';
    assert.ok(principalMatches(role, role));
    assert.ok(principalMatches('arn:aws:sts::111122223333:assumed-role/app/s1', role));
    assert.ok(
      principalMatches(
        'arn:aws:sts::111122223333:assumed-role/app/s1',
        'arn:aws:iam::111122223333:role/p/app',
      ),
    );
    assert.ok(!principalMatches('arn:aws:sts::444455556666:assumed-role/app/s1', role));
    assert.ok(!principalMatches('arn:aws:iam::111122223333:user/app', role));
  });
});

describe('records', () => {
  it('fingerprints ignore operation order and constraint key order', () => {
    const base = { name: 'n', granteePrincipal: 'arn:aws:iam::111122223333:root' };
    assert.equal(
      grantFingerprint({
        ...base,
        operations: ['Encrypt', 'Decrypt'],
        constraints: { encryptionContextSubset: { a: '1', b: '2' } },
      }),
      grantFingerprint({
        ...base,
        operations: ['Decrypt', 'Encrypt'],
        constraints: { encryptionContextSubset: { b: '2', a: '1' } },
      }),
    );
    assert.notEqual(
      grantFingerprint({ ...base, operations: ['Encrypt'] }),
      grantFingerprint({
        ...base,
        operations: ['Encrypt'],
        retiringPrincipal: base.granteePrincipal,
      }),
    );
  });

  it('list entries carry the key ARN, the issuing account root and only present fields', () => {
    const e = toGrantListEntry(
      {
        region: 'us-east-1',
        keyId: 'k',
        grantId: 'g',
        accountId: '444455556666',
        issuingPrincipal: 'arn:aws:iam::444455556666:root',
        granteePrincipal: 'arn:aws:iam::444455556666:user/u',
        operations: ['Encrypt'],
        constraints: { encryptionContextEquals: { a: 'b' } },
        creationDate: new Date(5),
        fingerprint: 'f',
      },
      '111122223333',
    );
    assert.deepEqual(e, {
      KeyId: 'arn:aws:kms:us-east-1:111122223333:key/k',
      GrantId: 'g',
      CreationDate: new Date(5),
      GranteePrincipal: 'arn:aws:iam::444455556666:user/u',
      IssuingAccount: 'arn:aws:iam::444455556666:root',
      Operations: ['Encrypt'],
      Constraints: { EncryptionContextEquals: { a: 'b' } },
    });
  });
});
