/**
 * Key policies through the real SDK: GetKeyPolicy / PutKeyPolicy / ListKeyPolicies, the
 * lockout safety check, malformed documents, and the policy actually deciding access
 * (an explicit Deny stops even the account root), plus `keyhold authz explain`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  ListKeyPoliciesCommand,
  PutKeyPolicyCommand,
  TagResourceCommand,
} from '@aws-sdk/client-kms';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCOUNT_ID,
  type TestServer,
} from '../helpers/server.js';

const ROOT = `arn:aws:iam::${TEST_ACCOUNT_ID}:root`;

function policy(...statements: object[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

const allowRoot = {
  Sid: 'Enable IAM User Permissions',
  Effect: 'Allow',
  Principal: { AWS: ROOT },
  Action: 'kms:*',
  Resource: '*',
};

describe('key policies', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  const newKey = async (Policy?: string, BypassPolicyLockoutSafetyCheck?: boolean) =>
    (await server.client.send(new CreateKeyCommand({ Policy, BypassPolicyLockoutSafetyCheck })))
      .KeyMetadata?.KeyId as string;

  it('returns the AWS default key policy text for a key created without one', async () => {
    const keyId = await newKey();
    const got = await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }));
    assert.equal(got.PolicyName, 'default');
    const doc = JSON.parse(got.Policy ?? '') as {
      Id: string;
      Statement: Array<{ Sid: string; Principal: { AWS: string }; Action: string }>;
    };
    assert.equal(doc.Id, 'key-default-1');
    assert.equal(doc.Statement[0]?.Sid, 'Enable IAM User Permissions');
    assert.equal(doc.Statement[0]?.Principal.AWS, ROOT);
    assert.match(got.Policy ?? '', /"Version" : "2012-10-17"/, 'AWS pretty-print style');
  });

  it('PutKeyPolicy replaces the policy; GetKeyPolicy returns it as supplied; ListKeyPolicies lists default', async () => {
    const keyId = await newKey();
    const text = policy(allowRoot, {
      Sid: 'extra',
      Effect: 'Allow',
      Principal: { AWS: ROOT },
      Action: 'kms:Encrypt',
      Resource: '*',
    });
    await server.client.send(
      new PutKeyPolicyCommand({ KeyId: keyId, Policy: text, PolicyName: 'default' }),
    );
    assert.equal(
      (await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy,
      text,
    );
    const names = await server.client.send(new ListKeyPoliciesCommand({ KeyId: keyId }));
    assert.deepEqual(names.PolicyNames, ['default']);
    assert.equal(names.Truncated, false);
  });

  it('a policy name other than default is refused', async () => {
    const keyId = await newKey();
    await expectAwsError(
      server.client.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'other' })),
      'NotFoundException',
    );
  });

  it('the lockout safety check refuses a policy that would lock the caller out, unless bypassed', async () => {
    const keyId = await newKey();
    const lockout = policy({
      Effect: 'Allow',
      Principal: { AWS: ROOT },
      Action: 'kms:Encrypt',
      Resource: '*',
    });
    const err = await expectAwsError(
      server.client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: lockout })),
      'MalformedPolicyDocumentException',
    );
    assert.match(err.message, /will not allow you to update the key policy in the future/);
    // Nothing changed.
    assert.match(
      (await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy ?? '',
      /kms:\*/,
    );
    await expectAwsError(
      server.client.send(new CreateKeyCommand({ Policy: lockout })),
      'MalformedPolicyDocumentException',
    );
    const bypassed = await newKey(lockout, true);
    // The bypassed key really is locked: root may Encrypt but not read its policy.
    await server.client.send(new EncryptCommand({ KeyId: bypassed, Plaintext: Buffer.from('x') }));
    const denied = await expectAwsError(
      server.client.send(new GetKeyPolicyCommand({ KeyId: bypassed })),
      'AccessDeniedException',
    );
    assert.match(
      denied.message,
      /is not authorized to perform: kms:GetKeyPolicy on resource: arn:aws:kms:.*because no resource-based policy allows the kms:GetKeyPolicy action/,
    );
  });

  it('malformed documents are refused with MalformedPolicyDocumentException and change nothing', async () => {
    const keyId = await newKey();
    for (const bad of [
      '{"Version":"2012-10-17"}',
      policy({ Effect: 'Maybe', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' }),
      policy({ Effect: 'Allow', Action: 'kms:*', Resource: '*' }),
      policy({
        Effect: 'Allow',
        Principal: { AWS: ROOT },
        Action: 'kms:*',
        Resource: '*',
        Condition: { StringEqualsMaybe: { 'kms:CallerAccount': '1' } },
      }),
    ]) {
      await expectAwsError(
        server.client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: bad })),
        'MalformedPolicyDocumentException',
      );
    }
    assert.match(
      (await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy ?? '',
      /key-default-1/,
    );
  });

  it('principals named in a key policy must exist in the accounts keyhold holds', async () => {
    const keyId = await newKey();
    const naming = (arn: string) =>
      policy(allowRoot, {
        Sid: 'p',
        Effect: 'Allow',
        Principal: { AWS: arn },
        Action: 'kms:Encrypt',
        Resource: '*',
      });
    const err = await expectAwsError(
      server.client.send(
        new PutKeyPolicyCommand({
          KeyId: keyId,
          Policy: naming(`arn:aws:iam::${TEST_ACCOUNT_ID}:user/ghost`),
        }),
      ),
      'MalformedPolicyDocumentException',
    );
    assert.equal(err.message, 'Policy contains a statement with one or more invalid principals.');
    await expectAwsError(
      server.client.send(
        new CreateKeyCommand({ Policy: naming(`arn:aws:iam::${TEST_ACCOUNT_ID}:role/ghost`) }),
      ),
      'MalformedPolicyDocumentException',
    );
    // An account keyhold does not hold: taken on trust, as keyhold cannot know.
    await server.client.send(
      new PutKeyPolicyCommand({
        KeyId: keyId,
        Policy: naming('arn:aws:iam::999988887777:user/elsewhere'),
      }),
    );
  });

  it('an explicit Deny in the key policy stops even the account root, with AWS message', async () => {
    const text = policy(allowRoot, {
      Sid: 'NoEncrypt',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:Encrypt',
      Resource: '*',
    });
    const keyId = await newKey(text);
    const err = await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
    );
    assert.match(
      err.message,
      new RegExp(
        `^User: ${ROOT} is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:${TEST_ACCOUNT_ID}:key/${keyId} with an explicit deny in a resource-based policy$`,
      ),
    );
    await server.client.send(new DescribeKeyCommand({ KeyId: keyId }));
  });

  it('a condition on the encryption context decides per request', async () => {
    const text = policy(allowRoot, {
      Sid: 'OnlyTenantA',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:Encrypt',
      Resource: '*',
      Condition: { StringNotEquals: { 'kms:EncryptionContext:tenant': 'a' } },
    });
    const keyId = await newKey(text);
    await server.client.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from('x'),
        EncryptionContext: { tenant: 'a' },
      }),
    );
    await expectAwsError(
      server.client.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from('x'),
          EncryptionContext: { tenant: 'b' },
        }),
      ),
      'AccessDeniedException',
    );
  });

  it('aws:ResourceTag, aws:RequestTag and kms:ResourceAliases conditions see the key and the request', async () => {
    const text = policy(
      allowRoot,
      {
        Sid: 'OnlyProd',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: { StringNotEquals: { 'aws:ResourceTag/env': 'prod' } },
      },
      {
        Sid: 'OwnerRequired',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:TagResource',
        Resource: '*',
        Condition: { Null: { 'aws:RequestTag/owner': 'true' } },
      },
      {
        Sid: 'Frozen',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/frozen' } },
      },
    );
    const keyId = await newKey(text);
    await expectAwsError(
      server.client.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
    );
    await expectAwsError(
      server.client.send(
        new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'env', TagValue: 'prod' }] }),
      ),
      'AccessDeniedException',
    );
    await server.client.send(
      new TagResourceCommand({
        KeyId: keyId,
        Tags: [
          { TagKey: 'env', TagValue: 'prod' },
          { TagKey: 'owner', TagValue: 'me' },
        ],
      }),
    );
    const ct = await server.client.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }),
    );
    await server.client.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
    await server.client.send(
      new CreateAliasCommand({ AliasName: 'alias/frozen', TargetKeyId: keyId }),
    );
    await expectAwsError(
      server.client.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob })),
      'AccessDeniedException',
    );
  });

  it('`keyhold authz explain` prints the decision and the statement that made it', async () => {
    const text = policy(allowRoot, {
      Sid: 'NoDecrypt',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:Decrypt',
      Resource: '*',
    });
    const keyId = await newKey(text);
    const run = (action: string) =>
      spawnSync(
        process.execPath,
        [
          'dist/src/cli/main.js',
          'authz',
          'explain',
          '--principal',
          ROOT,
          '--action',
          action,
          '--key',
          keyId,
          '--data-dir',
          server.dataDir,
        ],
        { encoding: 'utf8' },
      );
    const denied = run('kms:Decrypt');
    assert.equal(denied.status, 1, denied.stderr);
    assert.notEqual(denied.stdout, '', `no decision printed: ${denied.stderr}`);
    const d = JSON.parse(denied.stdout) as {
      allowed: boolean;
      kind: string;
      reasons: Array<{ ref: string; matched: boolean }>;
    };
    assert.equal(d.allowed, false);
    assert.equal(d.kind, 'explicit-deny');
    assert.ok(d.reasons.some((r) => r.ref.includes('NoDecrypt') && r.matched));
    const allowed = run('kms:Encrypt');
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.equal((JSON.parse(allowed.stdout) as { allowed: boolean }).allowed, true);
  });
});
