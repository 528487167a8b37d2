/**
 * Principals are bound to IAM unique ids, through the AWS SDK: a user or role deleted and
 * re-created under the same name inherits nothing — not the key-policy statements, not the
 * grants, not the trust policies that named the old one — and GetKeyPolicy, ListGrants and
 * ListRoles show the old principal's unique id (AIDA…/AROA…) once it is gone, as AWS does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListGrantsCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
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
const ROOT = `arn:aws:iam::${ACCT}:root`;
const USER_ID = /^AIDA[A-Z2-7]{17}$/;
const ROLE_ID = /^AROA[A-Z2-7]{17}$/;

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

describe('principals bound to unique ids', () => {
  let server: TestServer;
  let admin: ReturnType<typeof adminClient>;
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
  const encrypt = (c: Creds, keyId: string) =>
    kms(c).send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));

  /** A user with a key (and, optionally, an identity policy). */
  const createUser = async (name: string, policy?: object) => {
    const user = (await admin('CreateUser', { AccountId: ACCT, UserName: name })).User as {
      Arn: string;
      UserId: string;
    };
    const key = (await admin('CreateAccessKey', { UserArn: user.Arn })).AccessKey as {
      AccessKeyId: string;
      SecretAccessKey: string;
    };
    if (policy !== undefined)
      await admin('PutUserPolicy', {
        UserArn: user.Arn,
        PolicyName: 'p',
        PolicyDocument: JSON.stringify(policy),
      });
    const creds: Creds = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
    return { arn: user.Arn, id: user.UserId, creds };
  };
  const keyPolicy = (arn: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'root', Effect: 'Allow', Principal: { AWS: ROOT }, Action: 'kms:*', Resource: '*' },
        {
          Sid: 'use',
          Effect: 'Allow',
          Principal: { AWS: arn },
          Action: 'kms:Encrypt',
          Resource: '*',
        },
      ],
    });
  const policyPrincipals = (text: string | undefined): unknown[] =>
    (JSON.parse(text ?? '{}') as { Statement: { Principal: { AWS: unknown } }[] }).Statement.map(
      (s) => s.Principal.AWS,
    );

  before(async () => {
    server = await startTestServer();
    admin = adminClient(server.url);
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  it('key policy: a re-created user is denied; GetKeyPolicy shows the old unique id', async () => {
    const name = `alice${++n}`;
    const old = await createUser(name);
    assert.match(old.id, USER_ID);
    const text = keyPolicy(old.arn);
    const keyId = (await server.client.send(new CreateKeyCommand({ Policy: text }))).KeyMetadata
      ?.KeyId as string;
    await encrypt(old.creds, keyId);
    const shown = await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }));
    assert.equal(shown.Policy, text, 'unchanged while the principal exists');

    await admin('DeleteUser', { UserArn: old.arn });
    const orphaned = await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }));
    assert.deepEqual(policyPrincipals(orphaned.Policy), [ROOT, old.id]);

    const again = await createUser(name);
    assert.equal(again.arn, old.arn);
    assert.notEqual(again.id, old.id);
    const e = await expectAwsError(encrypt(again.creds, keyId), 'AccessDeniedException');
    assert.match(e.message, new RegExp(`User: ${again.arn} is not authorized`));
    const still = await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }));
    assert.deepEqual(policyPrincipals(still.Policy), [ROOT, old.id], 'never the new user');

    // Saving the shown document again is refused, as AWS refuses an orphaned unique id.
    const bad = await expectAwsError(
      server.client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: still.Policy })),
      'MalformedPolicyDocumentException',
    );
    assert.equal(bad.message, 'Policy contains a statement with one or more invalid principals.');
    // Naming the ARN again binds the new user.
    await server.client.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: text }));
    await encrypt(again.creds, keyId);
    assert.equal(
      (await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy,
      text,
    );
  });

  it('key policy naming a role: a session of a re-created role is denied', async () => {
    const user = await createUser(`assumer${++n}`, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
    });
    const roleName = `app${n}`;
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: user.arn }, Action: 'sts:AssumeRole' }],
    });
    const makeRole = async () =>
      (
        await admin('CreateRole', {
          AccountId: ACCT,
          RoleName: roleName,
          AssumeRolePolicyDocument: trust,
        })
      ).Role as { Arn: string; RoleId: string };
    const session = async (arn: string): Promise<Creds> => {
      const c = (
        await sts(user.creds).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 's1' }))
      ).Credentials;
      return {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: c?.SessionToken as string,
      };
    };
    const role = await makeRole();
    assert.match(role.RoleId, ROLE_ID);
    const keyId = (await server.client.send(new CreateKeyCommand({ Policy: keyPolicy(role.Arn) })))
      .KeyMetadata?.KeyId as string;
    await encrypt(await session(role.Arn), keyId);

    await admin('DeleteRole', { RoleArn: role.Arn });
    const again = await makeRole();
    const s = await session(again.Arn);
    const me = await sts(s).send(new GetCallerIdentityCommand({}));
    assert.equal(me.UserId, `${again.RoleId}:s1`);
    await expectAwsError(encrypt(s, keyId), 'AccessDeniedException');
    const shown = await server.client.send(new GetKeyPolicyCommand({ KeyId: keyId }));
    assert.deepEqual(policyPrincipals(shown.Policy), [ROOT, role.RoleId]);
  });

  it('grants: a re-created grantee or retiring principal gets nothing; ListGrants shows the old id', async () => {
    const name = `bob${++n}`;
    const old = await createUser(name);
    const retirerName = `ret${n}`;
    const retirer = await createUser(retirerName);
    const key = (await server.client.send(new CreateKeyCommand({}))).KeyMetadata;
    const keyId = key?.KeyId as string;
    const g = await server.client.send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: old.arn,
        RetiringPrincipal: retirer.arn,
        Operations: ['Encrypt'],
      }),
    );
    await encrypt(old.creds, keyId);
    const listed = async () =>
      (await server.client.send(new ListGrantsCommand({ KeyId: keyId }))).Grants?.[0];
    assert.equal((await listed())?.GranteePrincipal, old.arn);
    assert.equal((await listed())?.RetiringPrincipal, retirer.arn);

    await admin('DeleteUser', { UserArn: old.arn });
    await admin('DeleteUser', { UserArn: retirer.arn });
    assert.equal((await listed())?.GranteePrincipal, old.id);
    assert.equal((await listed())?.RetiringPrincipal, retirer.id);

    const again = await createUser(name);
    await expectAwsError(encrypt(again.creds, keyId), 'AccessDeniedException');
    assert.equal((await listed())?.GranteePrincipal, old.id);
    // The re-created retiring principal cannot retire it either (it has no policy allowing it).
    const retirerAgain = await createUser(retirerName);
    await expectAwsError(
      kms(retirerAgain.creds).send(new RetireGrantCommand({ KeyId: key?.Arn, GrantId: g.GrantId })),
      'AccessDeniedException',
    );
    assert.equal((await listed())?.GrantId, g.GrantId, 'the grant is still there');
  });

  it('trust policy: a re-created user cannot assume the role; ListRoles shows the old id', async () => {
    const name = `carol${++n}`;
    const assume = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
    };
    const old = await createUser(name, assume);
    const roleName = `trusting${n}`;
    const role = (
      await admin('CreateRole', {
        AccountId: ACCT,
        RoleName: roleName,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: old.arn }, Action: 'sts:AssumeRole' }],
        }),
      })
    ).Role as { Arn: string };
    await sts(old.creds).send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: 's-a' }));

    await admin('DeleteUser', { UserArn: old.arn });
    const again = await createUser(name, assume);
    await expectAwsError(
      sts(again.creds).send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: 's-b' })),
      'AccessDenied',
    );
    const roles = (await admin('ListRoles', { AccountId: ACCT })).Roles as {
      RoleName: string;
      AssumeRolePolicyDocument: string;
    }[];
    const shown = roles.find((r) => r.RoleName === roleName);
    assert.deepEqual(policyPrincipals(shown?.AssumeRolePolicyDocument), [old.id]);
  });
});
