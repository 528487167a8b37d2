/**
 * Authorization end to end through the real SDK: IAM users from a seed file, identity
 * policies, key policies naming principals directly, grants with constraints, cross-account
 * access by key ARN, and an assumed-role session. Each case has the outcome AWS documents.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  RetireGrantCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  type TestServer,
} from '../helpers/server.js';

const ACCT = TEST_ACCOUNT_ID;
const OTHER = '444455556666';
const ids = {
  alice: ['AKIAAUTHZALICE000001', 'aliceAuthzSecret0123456789abcdefghijklmn'],
  dave: ['AKIAAUTHZDAVE0000001', 'daveAuthzSecret0123456789abcdefghijklmno'],
  gina: ['AKIAAUTHZGINA0000001', 'ginaAuthzSecret0123456789abcdefghijklmno'],
  oscar: ['AKIAAUTHZOSCAR000001', 'oscarAuthzSecret0123456789abcdefghijklmn'],
  otherRoot: ['AKIAAUTHZOROOT000001', 'otherRootSecret0123456789abcdefghijklmno'],
} as const;
type Who = keyof typeof ids;

const allow = (Action: string | string[], Resource = '*') => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action, Resource }],
});

describe('authorization end to end', () => {
  let server: TestServer;
  let tmp: string;
  const clients: KMSClient[] = [];
  const as = (who: Who): KMSClient => {
    const [accessKeyId, secretAccessKey] = ids[who];
    const c = new KMSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };
  let k1: string; // default key policy
  let k2: string; // key policy names dave directly
  let k3: string; // key policy allows the other account
  let k1Arn: string;
  let k3Arn: string;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-authz-'));
    for (const [who, [, secret]] of Object.entries(ids))
      writeFileSync(join(tmp, `${who}.secret`), secret);
    const user = (name: Who, policies?: Record<string, object>) => ({
      name,
      accessKeys: [{ accessKeyId: ids[name][0], secretAccessKeyFile: `${name}.secret` }],
      ...(policies ? { policies } : {}),
    });
    const seed = {
      accounts: [
        {
          id: ACCT,
          users: [
            user('alice', {
              crypto: allow(['kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']),
            }),
            user('dave'),
            user('gina'),
          ],
          roles: [
            {
              name: 'app',
              trustPolicy: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Principal: { AWS: `arn:aws:iam::${ACCT}:user/alice` },
                    Action: 'sts:AssumeRole',
                  },
                ],
              },
              policies: { kms: allow('kms:*') },
            },
          ],
        },
        {
          id: OTHER,
          rootAccessKeys: [
            { accessKeyId: ids.otherRoot[0], secretAccessKeyFile: 'otherRoot.secret' },
          ],
          users: [user('oscar', { enc: allow(['kms:Encrypt', 'kms:DescribeKey']) })],
        },
      ],
    };
    writeFileSync(join(tmp, 'seed.json'), JSON.stringify(seed));
    server = await startTestServer({ env: { KEYHOLD_SEED_FILE: join(tmp, 'seed.json') } });
    const root = `arn:aws:iam::${ACCT}:root`;
    const rootAll = {
      Sid: 'root',
      Effect: 'Allow',
      Principal: { AWS: root },
      Action: 'kms:*',
      Resource: '*',
    };
    const policy = (...extra: object[]) =>
      JSON.stringify({ Version: '2012-10-17', Statement: [rootAll, ...extra] });
    const mk = async (Policy?: string) =>
      (await server.client.send(new CreateKeyCommand({ Policy }))).KeyMetadata as {
        KeyId: string;
        Arn: string;
      };
    const a = await mk();
    k1 = a.KeyId;
    k1Arn = a.Arn;
    k2 = (
      await mk(
        policy({
          Sid: 'dave',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCT}:user/dave` },
          Action: 'kms:Decrypt',
          Resource: '*',
        }),
      )
    ).KeyId;
    const c = await mk(
      policy({
        Sid: 'other',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${OTHER}:root` },
        Action: ['kms:Encrypt', 'kms:DescribeKey'],
        Resource: '*',
      }),
    );
    k3 = c.KeyId;
    k3Arn = c.Arn;
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('default key policy: an identity policy decides (allow Encrypt; Decrypt not allowed by any identity policy)', async () => {
    await as('alice').send(new EncryptCommand({ KeyId: k1, Plaintext: Buffer.from('a') }));
    const ct = await server.client.send(
      new EncryptCommand({ KeyId: k1, Plaintext: Buffer.from('a') }),
    );
    const err = await expectAwsError(
      as('alice').send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob })),
      'AccessDeniedException',
    );
    assert.equal(
      err.message,
      `User: arn:aws:iam::${ACCT}:user/alice is not authorized to perform: kms:Decrypt on resource: ${k1Arn} because no identity-based policy allows the kms:Decrypt action`,
    );
  });

  it('account-level actions are identity-policy only: alice may not CreateKey', async () => {
    await expectAwsError(as('alice').send(new CreateKeyCommand({})), 'AccessDeniedException');
  });

  it('a user with no policies is denied; a key policy naming the user directly allows without IAM', async () => {
    await expectAwsError(
      as('dave').send(new EncryptCommand({ KeyId: k1, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
    );
    const ct = await server.client.send(
      new EncryptCommand({ KeyId: k2, Plaintext: Buffer.from('for dave') }),
    );
    const out = await as('dave').send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
    assert.equal(Buffer.from(out.Plaintext ?? []).toString(), 'for dave');
    // ...but only for what the statement names.
    await expectAwsError(
      as('dave').send(new EncryptCommand({ KeyId: k2, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
    );
  });

  it('a grant allows exactly its operations under its constraints, and stops when revoked or retired', async () => {
    const ct = await server.client.send(
      new EncryptCommand({
        KeyId: k1,
        Plaintext: Buffer.from('g'),
        EncryptionContext: { app: 'x', extra: '1' },
      }),
    );
    const bare = await server.client.send(
      new EncryptCommand({ KeyId: k1, Plaintext: Buffer.from('g') }),
    );
    await expectAwsError(
      as('gina').send(
        new DecryptCommand({
          CiphertextBlob: ct.CiphertextBlob,
          EncryptionContext: { app: 'x', extra: '1' },
        }),
      ),
      'AccessDeniedException',
    );
    const grant = await server.client.send(
      new CreateGrantCommand({
        KeyId: k1,
        GranteePrincipal: `arn:aws:iam::${ACCT}:user/gina`,
        Operations: ['Decrypt', 'RetireGrant'],
        Constraints: { EncryptionContextSubset: { app: 'x' } },
      }),
    );
    const out = await as('gina').send(
      new DecryptCommand({
        CiphertextBlob: ct.CiphertextBlob,
        EncryptionContext: { app: 'x', extra: '1' },
        GrantTokens: [grant.GrantToken as string],
      }),
    );
    assert.equal(Buffer.from(out.Plaintext ?? []).toString(), 'g');
    await expectAwsError(
      as('gina').send(new DecryptCommand({ CiphertextBlob: bare.CiphertextBlob })),
      'AccessDeniedException',
    );
    await expectAwsError(
      as('gina').send(
        new EncryptCommand({
          KeyId: k1,
          Plaintext: Buffer.from('x'),
          EncryptionContext: { app: 'x' },
        }),
      ),
      'AccessDeniedException',
    );
    // The grantee may retire a grant that includes RetireGrant.
    await as('gina').send(new RetireGrantCommand({ GrantToken: grant.GrantToken }));
    await expectAwsError(
      as('gina').send(
        new DecryptCommand({
          CiphertextBlob: ct.CiphertextBlob,
          EncryptionContext: { app: 'x', extra: '1' },
        }),
      ),
      'AccessDeniedException',
    );
    const again = await server.client.send(
      new CreateGrantCommand({
        KeyId: k1,
        GranteePrincipal: `arn:aws:iam::${ACCT}:user/gina`,
        Operations: ['Decrypt'],
      }),
    );
    await as('gina').send(new DecryptCommand({ CiphertextBlob: bare.CiphertextBlob }));
    await server.client.send(new RevokeGrantCommand({ KeyId: k1, GrantId: again.GrantId }));
    await expectAwsError(
      as('gina').send(new DecryptCommand({ CiphertextBlob: bare.CiphertextBlob })),
      'AccessDeniedException',
    );
  });

  it('cross-account: the key policy must allow the other account and its IAM policy too; by key ARN only', async () => {
    await as('oscar').send(new EncryptCommand({ KeyId: k3Arn, Plaintext: Buffer.from('x') }));
    await as('otherRoot').send(new EncryptCommand({ KeyId: k3Arn, Plaintext: Buffer.from('x') }));
    await expectAwsError(
      as('oscar').send(new EncryptCommand({ KeyId: k1Arn, Plaintext: Buffer.from('x') })),
      'AccessDeniedException',
    );
    // A bare key id means the caller's own account: not found there.
    await expectAwsError(
      as('oscar').send(new DescribeKeyCommand({ KeyId: k3 })),
      'NotFoundException',
    );
    // The key policy allows the account Encrypt and DescribeKey only.
    await expectAwsError(
      as('otherRoot').send(
        new DecryptCommand({
          CiphertextBlob: (
            await server.client.send(new EncryptCommand({ KeyId: k3, Plaintext: Buffer.from('y') }))
          ).CiphertextBlob,
        }),
      ),
      'AccessDeniedException',
    );
  });

  it('an assumed-role session acts with the role\u2019s identity policies', async () => {
    const sts = new STSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: { accessKeyId: ids.alice[0], secretAccessKey: ids.alice[1] },
      maxAttempts: 1,
    });
    const r = await sts.send(
      new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCT}:role/app`, RoleSessionName: 'authz' }),
    );
    sts.destroy();
    const c = r.Credentials;
    const session = new KMSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: c?.SessionToken as string,
      },
      maxAttempts: 1,
    });
    clients.push(session);
    const ct = await session.send(
      new EncryptCommand({ KeyId: k1, Plaintext: Buffer.from('role') }),
    );
    const out = await session.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
    assert.equal(Buffer.from(out.Plaintext ?? []).toString(), 'role');
    // The lockout check applies to sessions too: a policy that drops the role is refused.
    const denied = await expectAwsError(
      session.send(
        new CreateKeyCommand({
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: `arn:aws:iam::${ACCT}:user/dave` },
                Action: 'kms:*',
                Resource: '*',
              },
            ],
          }),
        }),
      ),
      'MalformedPolicyDocumentException',
    );
    assert.match(denied.message, /will not allow you to update the key policy/);
  });
});
