/**
 * `keyhold admin …` end to end: the CLI signs calls to the running server's admin API with
 * the account root's credentials; a non-root caller is refused; every call is audited.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { openAuditDb } from '../../src/storage/sqlite/audit-db.js';
import { SqliteAuditRepository } from '../../src/storage/sqlite/sqlite-audit.js';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const MAIN = resolve('dist/src/cli/main.js');
const ACCT = TEST_ACCOUNT_ID;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('keyhold admin', () => {
  let server: TestServer;
  let tmp: string;

  const admin = (
    args: string[],
    creds = { id: TEST_ACCESS_KEY_ID, secret: TEST_SECRET_ACCESS_KEY },
  ) =>
    new Promise<Result>((done) => {
      execFile(
        process.execPath,
        [MAIN, 'admin', '--endpoint-url', server.url, ...args],
        {
          env: {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            AWS_ACCESS_KEY_ID: creds.id,
            AWS_SECRET_ACCESS_KEY: creds.secret,
            AWS_REGION: TEST_REGION,
          },
          timeout: 30_000,
        },
        (err, stdout, stderr) =>
          done({
            code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1,
            stdout,
            stderr,
          }),
      );
    });
  const ok = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await admin(args);
    assert.equal(r.code, 0, `keyhold admin ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const whoAmI = async (id: string, secret: string) => {
    const c = new STSClient({
      endpoint: server.url,
      region: TEST_REGION,
      credentials: { accessKeyId: id, secretAccessKey: secret },
      maxAttempts: 1,
    });
    try {
      return await c.send(new GetCallerIdentityCommand({}));
    } finally {
      c.destroy();
    }
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'keyhold-admin-'));
    server = await startTestServer({ keepDataDir: true });
  });
  after(async () => {
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('root manages users, keys, roles and policies end to end', async () => {
    const created = (await ok(['create-user', '--account', ACCT, '--name', 'dave'])) as {
      User: { Arn: string; UserId: string; UserName: string };
    };
    const userArn = `arn:aws:iam::${ACCT}:user/dave`;
    assert.equal(created.User.Arn, userArn);
    assert.match(created.User.UserId, /^AIDA/);

    const dup = await admin(['create-user', '--account', ACCT, '--name', 'DAVE']);
    assert.equal(dup.code, 254);
    assert.match(dup.stderr, /EntityAlreadyExists/);

    const key = (await ok(['create-access-key', '--user-arn', userArn])) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string };
    };
    assert.match(key.AccessKey.AccessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal(key.AccessKey.SecretAccessKey.length, 40);
    const me = await whoAmI(key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey);
    assert.equal(me.Arn, userArn);
    assert.equal(me.UserId, created.User.UserId);

    const listedKeys = (await ok(['list-access-keys', '--user-arn', userArn])) as {
      AccessKeyMetadata: { AccessKeyId: string }[];
    };
    assert.deepEqual(
      listedKeys.AccessKeyMetadata.map((k) => k.AccessKeyId),
      [key.AccessKey.AccessKeyId],
    );

    const policy = join(tmp, 'policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }],
      }),
    );
    await ok([
      'put-user-policy',
      '--user-arn',
      userArn,
      '--policy-name',
      'enc',
      '--policy-file',
      policy,
    ]);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify({ Version: '2012-10-17' }));
    const badRes = await admin([
      'put-user-policy',
      '--user-arn',
      userArn,
      '--policy-name',
      'x',
      '--policy-file',
      bad,
    ]);
    assert.equal(badRes.code, 254);
    assert.match(badRes.stderr, /MalformedPolicyDocument/);
    const identityPolicies = await server.node.services.storage.iam.getIdentityPolicies({
      type: 'IAMUser',
      arn: userArn,
      accountId: ACCT,
    });
    assert.equal(identityPolicies.length, 1);

    const trust = join(tmp, 'trust.json');
    writeFileSync(
      trust,
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: userArn }, Action: 'sts:AssumeRole' }],
      }),
    );
    const role = (await ok([
      'create-role',
      '--account',
      ACCT,
      '--name',
      'worker',
      '--trust-policy-file',
      trust,
    ])) as {
      Role: { Arn: string; RoleId: string; MaxSessionDuration: number };
    };
    assert.equal(role.Role.Arn, `arn:aws:iam::${ACCT}:role/worker`);
    assert.equal(role.Role.MaxSessionDuration, 3600);
    await ok([
      'put-role-policy',
      '--role-arn',
      role.Role.Arn,
      '--policy-name',
      'enc',
      '--policy-file',
      policy,
    ]);

    const users = (await ok(['list-users'])) as { Users: { UserName: string }[] };
    assert.deepEqual(
      users.Users.map((u) => u.UserName),
      ['dave'],
    );
    const roles = (await ok(['list-roles', '--account', ACCT])) as {
      Roles: { RoleName: string }[];
    };
    assert.deepEqual(
      roles.Roles.map((r) => r.RoleName),
      ['worker'],
    );

    await ok([
      'delete-access-key',
      '--user-arn',
      userArn,
      '--access-key-id',
      key.AccessKey.AccessKeyId,
    ]);
    await assert.rejects(whoAmI(key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey), {
      name: 'InvalidClientTokenId',
    });
    await ok(['delete-role', '--role-arn', role.Role.Arn]);
    await ok(['delete-user', '--user-arn', userArn]);
    const gone = await admin(['delete-user', '--user-arn', userArn]);
    assert.match(gone.stderr, /NoSuchEntity/);
  });

  it('an endpoint that does not answer is named, with how to choose another', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const dead = `http://127.0.0.1:${port}`;
    const r = await new Promise<Result>((done) => {
      execFile(
        process.execPath,
        [MAIN, 'admin', '--endpoint-url', dead, 'list-users', '--account', ACCT],
        {
          env: {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
          },
          timeout: 30_000,
        },
        (err, stdout, stderr) =>
          done({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr }),
      );
    });
    assert.equal(r.code, 254);
    assert.ok(r.stderr.includes(`cannot reach keyhold at ${dead}/ (ECONNREFUSED)`), r.stderr);
    assert.match(r.stderr, /--endpoint-url or KEYHOLD_ENDPOINT_URL/);
  });

  it('a non-root caller, and a root of another account, are refused', async () => {
    await ok(['create-user', '--account', ACCT, '--name', 'mallory']);
    const userArn = `arn:aws:iam::${ACCT}:user/mallory`;
    const key = (await ok(['create-access-key', '--user-arn', userArn])) as {
      AccessKey: { AccessKeyId: string; SecretAccessKey: string };
    };
    const r = await admin(['create-user', '--account', ACCT, '--name', 'mallory2'], {
      id: key.AccessKey.AccessKeyId,
      secret: key.AccessKey.SecretAccessKey,
    });
    assert.equal(r.code, 254);
    assert.match(r.stderr, /AccessDenied/);
    const r2 = await admin(['create-user', '--account', '999988887777', '--name', 'x']);
    assert.equal(r2.code, 254);
    assert.match(r2.stderr, /AccessDenied/);
    const r3 = await admin(['create-user', '--account', ACCT, '--name', 'x'], {
      id: 'AKIAUNKNOWN000000001',
      secret: 'x'.repeat(40),
    });
    assert.match(r3.stderr, /InvalidClientTokenId/);
  });

  it('every admin call is audited, without secrets', async () => {
    const dataDir = server.dataDir;
    await server.stop();
    const db = openAuditDb(join(dataDir, 'audit.db'));
    const repo = new SqliteAuditRepository(db);
    const rows = await repo.readAudit(0, 10_000);
    db.close();
    const names = rows.map((r) => r.eventName);
    for (const op of ['CreateUser', 'CreateAccessKey', 'PutUserPolicy', 'CreateRole', 'DeleteUser'])
      assert.ok(names.includes(`KeyholdAdmin.${op}`), `${op} audited: ${names.join(',')}`);
    const denied = rows.find(
      (r) => r.eventName === 'KeyholdAdmin.CreateUser' && r.body.includes('AccessDenied'),
    );
    assert.ok(denied !== undefined, 'the refused call is audited');
    for (const r of rows) assert.doesNotMatch(r.body, /SecretAccessKey"\s*:\s*"[A-Za-z0-9]/);
    server = await startTestServer({ dataDir, keepDataDir: true });
  });
});
