/**
 * What is deleted stops working at once (SQLite mode): a role's STS sessions die with the
 * role, a deleted user's and a deleted access key's signatures are refused on the next
 * request — through the AWS SDK, whether the deletion went through this server or through
 * another process writing the same keyhold.db (the change log + PRAGMA data_version path).
 * A trust-policy change applies to new AssumeRole calls only, as in AWS.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { adminClient } from '../helpers/admin-client.js';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  type TestServer,
} from '../helpers/server.js';

const ACCT = TEST_ACCOUNT_ID;
const INVALID = 'The security token included in the request is invalid.';
const STORAGE_MODULE = resolve('dist/src/storage/sqlite/sqlite-storage.js');
const run = promisify(execFile);

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

const allow = (action: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
  });
const trust = (aws: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: aws }, Action: 'sts:AssumeRole' }],
  });

describe('revocation: deleted identities stop working at once', () => {
  let server: TestServer;
  let admin: ReturnType<typeof adminClient>;
  let keyId: string;
  const clients: { destroy(): void }[] = [];
  let n = 0;

  const kms = (c: Creds) => {
    const k = new KMSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: c,
      maxAttempts: 1,
    });
    clients.push(k);
    return k;
  };
  const sts = (c: Creds) => {
    const k = new STSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: c,
      maxAttempts: 1,
    });
    clients.push(k);
    return k;
  };
  const encrypt = (c: Creds) =>
    kms(c).send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));

  /** Another process on the same keyhold.db: changes it through the storage layer directly. */
  const otherProcessRuns = async (body: string) => {
    const script = `
      import { SqliteStorage } from ${JSON.stringify(STORAGE_MODULE)};
      const s = new SqliteStorage(${JSON.stringify(join(server.dataDir, 'keyhold.db'))});
      const done = await (async () => { ${body} })();
      await s.close();
      if (done !== true) { console.error('nothing changed'); process.exit(3); }
    `;
    await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
  };
  const otherProcess = (call: string) => otherProcessRuns(`return s.${call};`);

  /** A fresh user with a key and a policy allowing KMS and AssumeRole. */
  const newUser = async () => {
    const name = `u${++n}`;
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
    const creds: Creds = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    return { arn: user.Arn, creds };
  };

  /** A fresh role trusted by a fresh user, and a session of it that works. */
  const newSession = async () => {
    const u = await newUser();
    const roleName = `r${++n}`;
    const role = (
      await admin('CreateRole', {
        AccountId: ACCT,
        RoleName: roleName,
        AssumeRolePolicyDocument: trust(u.arn),
      })
    ).Role as { Arn: string };
    await admin('PutRolePolicy', {
      RoleArn: role.Arn,
      PolicyName: 'kms',
      PolicyDocument: allow('kms:Encrypt'),
    });
    const out = await sts(u.creds).send(
      new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: 's1' }),
    );
    const session: Creds = {
      accessKeyId: out.Credentials?.AccessKeyId as string,
      secretAccessKey: out.Credentials?.SecretAccessKey as string,
      sessionToken: out.Credentials?.SessionToken as string,
    };
    // Used once, so the authenticator holds it in its cache.
    await encrypt(session);
    await sts(session).send(new GetCallerIdentityCommand({}));
    return { user: u, roleArn: role.Arn, session };
  };

  const assertRefused = async (c: Creds) => {
    const e = await expectAwsError(encrypt(c), 'UnrecognizedClientException');
    assert.equal(e.message, INVALID);
    assert.equal(e.$metadata?.httpStatusCode, 400);
    const s = await expectAwsError(
      sts(c).send(new GetCallerIdentityCommand({})),
      'InvalidClientTokenId',
    );
    assert.equal(s.$metadata?.httpStatusCode, 403);
  };

  before(async () => {
    server = await startTestServer();
    admin = adminClient(server.url);
    keyId = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  it('DeleteRole: the role\u2019s sessions are refused on the next request (KMS and STS)', async () => {
    const { roleArn, session } = await newSession();
    await admin('DeleteRole', { RoleArn: roleArn });
    await assertRefused(session);
  });

  it('DeleteRole by another process on the same file: this server refuses the session at once', async () => {
    const { roleArn, session } = await newSession();
    await otherProcess(`iam.deleteRole(${JSON.stringify(roleArn)})`);
    await assertRefused(session);
  });

  it('DeleteUser (here, and by another process): the user\u2019s keys are refused at once', async () => {
    const here = await newUser();
    await encrypt(here.creds);
    await admin('DeleteUser', { UserArn: here.arn });
    await assertRefused(here.creds);

    const there = await newUser();
    await encrypt(there.creds);
    await otherProcess(`iam.deleteUser(${JSON.stringify(there.arn)})`);
    await assertRefused(there.creds);
  });

  it('DeleteAccessKey (here, and by another process): that key is refused, the user\u2019s other key works', async () => {
    const u = await newUser();
    const second = (await admin('CreateAccessKey', { UserArn: u.arn })).AccessKey as {
      AccessKeyId: string;
      SecretAccessKey: string;
    };
    const other: Creds = {
      accessKeyId: second.AccessKeyId,
      secretAccessKey: second.SecretAccessKey,
    };
    await encrypt(u.creds);
    await encrypt(other);
    await admin('DeleteAccessKey', { UserArn: u.arn, AccessKeyId: u.creds.accessKeyId });
    await assertRefused(u.creds);
    await encrypt(other);
    await otherProcess(`iam.deleteAccessKey(${JSON.stringify(other.accessKeyId)})`);
    await assertRefused(other);
  });

  it('a deleted role re-created under the same name does not revive the old sessions', async () => {
    const { user, roleArn, session } = await newSession();
    await admin('DeleteRole', { RoleArn: roleArn });
    const name = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    await admin('CreateRole', {
      AccountId: ACCT,
      RoleName: name,
      AssumeRolePolicyDocument: trust(user.arn),
    });
    await assertRefused(session);
  });

  it('UpdateAssumeRolePolicy: new AssumeRole calls are refused, existing sessions keep working (as AWS)', async () => {
    const { user, roleArn, session } = await newSession();
    await admin('UpdateAssumeRolePolicy', {
      RoleArn: roleArn,
      PolicyDocument: trust(`arn:aws:iam::${ACCT}:root`),
    });
    // The trust policy now delegates to IAM; the user's policy allows sts:AssumeRole, so
    // name the user in a Deny instead to prove the new document is applied.
    await admin('UpdateAssumeRolePolicy', {
      RoleArn: roleArn,
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Deny', Principal: { AWS: user.arn }, Action: 'sts:AssumeRole' }],
      }),
    });
    await expectAwsError(
      sts(user.creds).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 's2' })),
      'AccessDenied',
    );
    await encrypt(session);
    const me = await sts(session).send(new GetCallerIdentityCommand({}));
    assert.match(me.Arn ?? '', /:assumed-role\/r\d+\/s1$/);
  });

  it('DisableKey by another process on the same file: the cached key record is dropped at once', async () => {
    const other = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const root = server.client;
    await root.send(new EncryptCommand({ KeyId: other, Plaintext: Buffer.from('x') }));
    await otherProcessRuns(`
      const k = await s.getKey(${JSON.stringify(TEST_REGION)}, ${JSON.stringify(other)});
      await s.updateKey({ ...k, keyState: 'Disabled' });
      return true;`);
    // Within the key cache's 1 s TTL: only the change log can make this immediate.
    await expectAwsError(
      root.send(new EncryptCommand({ KeyId: other, Plaintext: Buffer.from('x') })),
      'DisabledException',
    );
  });

  it('an unknown or tampered session is still refused, and a deletion of nothing changes nothing', async () => {
    const { session } = await newSession();
    await assertRefused({ ...session, sessionToken: `${session.sessionToken}x` });
    await assert.rejects(
      admin('DeleteRole', { RoleArn: `arn:aws:iam::${ACCT}:role/none` }),
      /NoSuchEntity/,
    );
    await encrypt(session);
  });
});
