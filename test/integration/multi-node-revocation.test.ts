/**
 * Two keyhold nodes on one PostgreSQL database: a role, user or access key deleted through
 * node A is refused by node B on its next requests (NOTIFY from the deleting transaction,
 * typically a few ms), and by A at once; a namesake re-created through A inherits nothing
 * on B. Through the AWS SDK and the admin API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { adminClient } from '../helpers/admin-client.js';
import { startCluster, within, type Cluster } from '../helpers/multi-node.js';
import { TEST_ACCOUNT_ID, TEST_REGION } from '../helpers/server.js';

const ACCT = TEST_ACCOUNT_ID;
/** NOTIFY is delivered in milliseconds; this is only the test's patience. */
const BOUND_MS = 1000;

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

describe('multi-node: deletions reach every node', () => {
  let cluster: Cluster;
  let tmp: string;
  let keyId: string;
  let n = 0;
  const clients: { destroy(): void }[] = [];
  const url = (node: 0 | 1) => cluster.nodes[node]!.url;
  const kms = (node: 0 | 1, c: Creds) => {
    const k = new KMSClient({
      endpoint: url(node),
      region: TEST_REGION,
      credentials: c,
      maxAttempts: 1,
    });
    clients.push(k);
    return k;
  };
  const sts = (node: 0 | 1, c: Creds) => {
    const k = new STSClient({
      endpoint: url(node),
      region: TEST_REGION,
      credentials: c,
      maxAttempts: 1,
    });
    clients.push(k);
    return k;
  };
  const encrypt = (node: 0 | 1, c: Creds) =>
    kms(node, c).send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
  const refused = async (node: 0 | 1, c: Creds): Promise<boolean> => {
    try {
      await encrypt(node, c);
      return false;
    } catch (err) {
      const e = err as Error;
      if (e.name !== 'UnrecognizedClientException') throw err;
      assert.equal(e.message, 'The security token included in the request is invalid.');
      return true;
    }
  };
  const adminA = () => adminClient(url(0));

  const newUser = async () => {
    const name = `mn${++n}`;
    const admin = adminA();
    const user = (await admin('CreateUser', { AccountId: ACCT, UserName: name })).User as {
      Arn: string;
    };
    const key = (await admin('CreateAccessKey', { UserArn: user.Arn })).AccessKey as {
      AccessKeyId: string;
      SecretAccessKey: string;
    };
    await admin('PutUserPolicy', {
      UserArn: user.Arn,
      PolicyName: 'p',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'sts:AssumeRole'], Resource: '*' }],
      }),
    });
    return {
      arn: user.Arn,
      creds: { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey } as Creds,
    };
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-mn-revoke-'));
    cluster = await startCluster(2);
    keyId = (await cluster.nodes[0]!.client.send(new CreateKeyCommand({}))).KeyMetadata
      ?.KeyId as string;
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await cluster?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('DeleteRole on A: the session is refused by A at once and by B (KMS and STS)', async (t) => {
    const u = await newUser();
    const admin = adminA();
    const role = (
      await admin('CreateRole', {
        AccountId: ACCT,
        RoleName: `role${++n}`,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: u.arn }, Action: 'sts:AssumeRole' }],
        }),
      })
    ).Role as { Arn: string };
    await admin('PutRolePolicy', {
      RoleArn: role.Arn,
      PolicyName: 'kms',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }],
      }),
    });
    const out = await sts(1, u.creds).send(
      new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: 'mn' }),
    );
    const session: Creds = {
      accessKeyId: out.Credentials?.AccessKeyId as string,
      secretAccessKey: out.Credentials?.SecretAccessKey as string,
      sessionToken: out.Credentials?.SessionToken as string,
    };
    // Both nodes have the session cached.
    await encrypt(0, session);
    await encrypt(1, session);
    await sts(1, session).send(new GetCallerIdentityCommand({}));

    await admin('DeleteRole', { RoleArn: role.Arn });
    assert.equal(await refused(0, session), true, 'A refuses at once');
    const ms = await within(BOUND_MS, () => refused(1, session));
    t.diagnostic(
      `B refused the deleted role's session ${ms.toFixed(1)} ms after DeleteRole returned`,
    );
    await assert.rejects(sts(1, session).send(new GetCallerIdentityCommand({})), {
      name: 'InvalidClientTokenId',
    });
    assert.ok(ms < BOUND_MS);
  });

  it('DeleteUser on A: the user\u2019s key is refused by A at once and by B', async () => {
    const u = await newUser();
    await encrypt(0, u.creds);
    await encrypt(1, u.creds);
    await adminA()('DeleteUser', { UserArn: u.arn });
    assert.equal(await refused(0, u.creds), true);
    await within(BOUND_MS, () => refused(1, u.creds));
  });

  it('DeleteAccessKey on A: that key is refused by A at once and by B', async () => {
    const u = await newUser();
    await encrypt(1, u.creds);
    await adminA()('DeleteAccessKey', { UserArn: u.arn, AccessKeyId: u.creds.accessKeyId });
    assert.equal(await refused(0, u.creds), true);
    await within(BOUND_MS, () => refused(1, u.creds));
  });

  it('a user re-created through A under a deleted user\u2019s name is a stranger to B as well', async () => {
    const name = `bound${++n}`;
    const admin = adminA();
    const make = async () => {
      const u = (await admin('CreateUser', { AccountId: ACCT, UserName: name })).User as {
        Arn: string;
        UserId: string;
      };
      const k = (await admin('CreateAccessKey', { UserArn: u.Arn })).AccessKey as {
        AccessKeyId: string;
        SecretAccessKey: string;
      };
      return { ...u, creds: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey } };
    };
    const old = await make();
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        { Effect: 'Allow', Principal: { AWS: old.Arn }, Action: 'kms:Encrypt', Resource: '*' },
      ],
    });
    const bound = (await cluster.nodes[0]!.client.send(new CreateKeyCommand({ Policy: policy })))
      .KeyMetadata?.KeyId as string;
    const enc = (node: 0 | 1, c: Creds) =>
      kms(node, c).send(new EncryptCommand({ KeyId: bound, Plaintext: Buffer.from('x') }));
    await enc(1, old.creds);
    await admin('DeleteUser', { UserArn: old.Arn });
    const again = await make();
    await assert.rejects(enc(1, again.creds), { name: 'AccessDeniedException' });
    const shown = await cluster.nodes[1]!.client.send(new GetKeyPolicyCommand({ KeyId: bound }));
    assert.ok(shown.Policy?.includes(`"${old.UserId}"`), shown.Policy);
    assert.ok(!shown.Policy?.includes(old.Arn), 'the ARN now names someone else');
  });
});
