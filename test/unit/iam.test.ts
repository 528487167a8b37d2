/**
 * IAM identities: the SQLite repository (CRUD, cascades, getIdentityPolicies), the
 * AssumeRole decision (trust + identity policies, AWS's same-account / cross-account rules)
 * and the seed-file structure check.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildContext } from '../../src/authz/policy/conditions.js';
import { ConfigError } from '../../src/config/config.js';
import { decideAssumeRole, type EvalPrincipal } from '../../src/iam/evaluate.js';
import { checkSeed } from '../../src/iam/seed.js';
import { DuplicateKeyError } from '../../src/storage/repository.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';

const A = '111122223333';
const B = '444455556666';

function open(): SqliteStorage {
  return new SqliteStorage(join(mkdtempSync(join(tmpdir(), 'keyhold-iam-')), 'keyhold.db'));
}

const user = (acct: string, name: string) => ({
  accountId: acct,
  name,
  path: '/',
  arn: `arn:aws:iam::${acct}:user/${name}`,
  userId: `AIDA${acct}${name.toUpperCase()}`,
  createdAt: new Date(1_700_000_000_000),
});

const role = (acct: string, name: string, trustPolicy = '{}') => ({
  accountId: acct,
  name,
  path: '/',
  arn: `arn:aws:iam::${acct}:role/${name}`,
  roleId: `AROA${acct}${name.toUpperCase()}`,
  trustPolicy,
  maxSessionDuration: 3600,
  description: '',
  createdAt: new Date(1_700_000_000_000),
});

describe('SqliteIamRepository', () => {
  it('accounts are idempotent', async () => {
    const s = open();
    await s.iam.putAccount({ accountId: A, createdAt: new Date(1000) });
    await s.iam.putAccount({ accountId: A, createdAt: new Date(2000) });
    await s.iam.putAccount({ accountId: B, createdAt: new Date(3000) });
    assert.deepEqual(
      (await s.iam.listAccounts()).map((a) => [a.accountId, a.createdAt.getTime()]),
      [
        [A, 1000],
        [B, 3000],
      ],
    );
    await s.close();
  });

  it('users: create, get by ARN and by name (case-insensitive), list, duplicate', async () => {
    const s = open();
    await s.iam.createUser(user(A, 'alice'));
    await s.iam.createUser(user(A, 'bob'));
    await s.iam.createUser(user(B, 'alice'));
    assert.equal((await s.iam.getUser(`arn:aws:iam::${A}:user/alice`))?.name, 'alice');
    assert.equal((await s.iam.getUserByName(A, 'ALICE'))?.arn, `arn:aws:iam::${A}:user/alice`);
    assert.deepEqual(
      (await s.iam.listUsers(A)).map((u) => u.name),
      ['alice', 'bob'],
    );
    assert.equal((await s.iam.listUsers()).length, 3);
    await assert.rejects(
      s.iam.createUser({ ...user(A, 'Alice'), userId: 'AIDAOTHER' }),
      DuplicateKeyError,
    );
    // A user and a role may share a name.
    await s.iam.createRole(role(A, 'alice'));
    await s.close();
  });

  it('policies: upsert, list, getIdentityPolicies for users, sessions and root', async () => {
    const s = open();
    const u = user(A, 'alice');
    const r = role(A, 'app');
    await s.iam.createUser(u);
    await s.iam.createRole(r);
    await s.iam.putPolicy({ principalArn: u.arn, policyName: 'p2', document: 'two' });
    await s.iam.putPolicy({ principalArn: u.arn, policyName: 'p1', document: 'one' });
    await s.iam.putPolicy({ principalArn: u.arn, policyName: 'p1', document: 'uno' });
    await s.iam.putPolicy({ principalArn: r.arn, policyName: 'rp', document: 'role' });
    assert.deepEqual(
      await s.iam.getIdentityPolicies({ type: 'IAMUser', arn: u.arn, accountId: A }),
      ['uno', 'two'],
    );
    assert.deepEqual(
      await s.iam.getIdentityPolicies({
        type: 'AssumedRole',
        arn: `arn:aws:sts::${A}:assumed-role/app/s`,
        accountId: A,
        roleArn: r.arn,
      }),
      ['role'],
    );
    assert.deepEqual(
      await s.iam.getIdentityPolicies({
        type: 'Root',
        arn: `arn:aws:iam::${A}:root`,
        accountId: A,
      }),
      [],
    );
    assert.equal((await s.iam.getPolicy(u.arn, 'p1'))?.document, 'uno');
    assert.equal(await s.iam.deletePolicy(u.arn, 'p2'), true);
    assert.equal(await s.iam.deletePolicy(u.arn, 'p2'), false);
    assert.deepEqual(
      (await s.iam.listPolicies(u.arn)).map((p) => p.policyName),
      ['p1'],
    );
    await s.close();
  });

  it('the identity-policy lookup uses the primary key (no table scan)', async () => {
    const s = open();
    const plan = s.db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT document FROM iam_policies WHERE principal_arn = ? ORDER BY policy_name',
      )
      .all('x') as { detail: string }[];
    assert.ok(
      plan.some((p) => /USING PRIMARY KEY/.test(p.detail)),
      JSON.stringify(plan),
    );
    await s.close();
  });

  it('deleteUser cascades to policies and access keys; deleteRole to policies and sessions', async () => {
    const s = open();
    const u = user(A, 'alice');
    const r = role(A, 'app');
    await s.iam.createUser(u);
    await s.iam.createRole(r);
    await s.iam.putPolicy({ principalArn: u.arn, policyName: 'p', document: 'x' });
    await s.iam.putPolicy({ principalArn: r.arn, policyName: 'p', document: 'x' });
    await s.putAccessKey({
      accessKeyId: 'AKIAALICE0000000001',
      accountId: A,
      principalArn: u.arn,
      sealedSecret: Buffer.from('s'),
      createdAt: new Date(),
    });
    await s.iam.putSession({
      accessKeyId: 'ASIASESSION00000001',
      accountId: A,
      sealedSecret: Buffer.from('s'),
      tokenHash: Buffer.alloc(32, 1),
      roleArn: r.arn,
      roleId: r.roleId,
      sessionName: 'sess',
      assumedRoleArn: `arn:aws:sts::${A}:assumed-role/app/sess`,
      expiration: new Date(2_000_000_000_000),
      createdAt: new Date(1_700_000_000_000),
    });
    assert.equal((await s.iam.listAccessKeysForPrincipal(u.arn)).length, 1);
    const sess = await s.iam.getSession('ASIASESSION00000001');
    assert.equal(sess?.sessionName, 'sess');
    assert.deepEqual(sess?.tokenHash, Buffer.alloc(32, 1));
    assert.equal(sess?.expiration.getTime(), 2_000_000_000_000);

    assert.equal(await s.iam.deleteUser(u.arn), true);
    assert.equal(await s.iam.deleteUser(u.arn), false);
    assert.equal(await s.getAccessKey('AKIAALICE0000000001'), undefined);
    assert.deepEqual(await s.iam.listPolicies(u.arn), []);

    assert.equal(await s.iam.deleteRole(r.arn), true);
    assert.equal(await s.iam.getSession('ASIASESSION00000001'), undefined);
    assert.deepEqual(await s.iam.listPolicies(r.arn), []);
    await s.close();
  });

  it('roles: update trust policy; access keys delete; expired sessions swept', async () => {
    const s = open();
    const r = role(A, 'app', 'old');
    await s.iam.createRole(r);
    assert.equal(
      await s.iam.updateRole({ ...r, trustPolicy: 'new', maxSessionDuration: 7200 }),
      true,
    );
    const got = await s.iam.getRoleByName(A, 'APP');
    assert.equal(got?.trustPolicy, 'new');
    assert.equal(got?.maxSessionDuration, 7200);
    assert.equal(await s.iam.updateRole(role(A, 'missing')), false);
    for (const [id, exp] of [
      ['ASIAOLD0000000000001', 1000],
      ['ASIANEW0000000000001', 5000],
    ] as const) {
      await s.iam.putSession({
        accessKeyId: id,
        accountId: A,
        sealedSecret: Buffer.from('s'),
        tokenHash: Buffer.alloc(32),
        roleArn: r.arn,
        roleId: r.roleId,
        sessionName: 's',
        assumedRoleArn: 'x',
        expiration: new Date(exp),
        createdAt: new Date(0),
      });
    }
    assert.equal(await s.iam.deleteExpiredSessions(new Date(2000)), 1);
    assert.notEqual(await s.iam.getSession('ASIANEW0000000000001'), undefined);
    assert.equal(await s.iam.deleteAccessKey('AKIANOPE'), false);
    await s.close();
  });

  it('survives reopen', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'keyhold-iam-')), 'keyhold.db');
    const s = new SqliteStorage(path);
    await s.iam.createUser(user(A, 'alice'));
    await s.close();
    const again = new SqliteStorage(path);
    assert.equal((await again.iam.getUserByName(A, 'alice'))?.userId, user(A, 'alice').userId);
    await again.close();
  });
});

const alice: EvalPrincipal = {
  type: 'IAMUser',
  arn: `arn:aws:iam::${A}:user/alice`,
  accountId: A,
  userId: 'AIDAALICE',
};
const foreign: EvalPrincipal = {
  type: 'IAMUser',
  arn: `arn:aws:iam::${B}:user/eve`,
  accountId: B,
  userId: 'AIDAEVE',
};
const session: EvalPrincipal = {
  type: 'AssumedRole',
  arn: `arn:aws:sts::${A}:assumed-role/source/s1`,
  accountId: A,
  roleArn: `arn:aws:iam::${A}:role/source`,
  userId: 'AROASOURCE:s1',
};
const rootA: EvalPrincipal = {
  type: 'Root',
  arn: `arn:aws:iam::${A}:root`,
  accountId: A,
  userId: A,
};
const ROLE = `arn:aws:iam::${A}:role/target`;

const trust = (principal: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole', ...extra }],
  });
const allowAssume = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ROLE }],
});
const denyAssume = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Deny', Action: 'sts:*', Resource: '*' }],
});
const allowOther = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${A}:role/other` },
  ],
});

describe('decideAssumeRole (STS AssumeRole "Permissions"; IAM cross-account evaluation)', () => {
  const cases: [string, EvalPrincipal, string, string[], boolean][] = [
    [
      'same account, trust names the user: no identity policy needed',
      alice,
      trust({ AWS: alice.arn }),
      [],
      true,
    ],
    [
      'same account, trust names the account: identity policy required (absent)',
      alice,
      trust({ AWS: A }),
      [],
      false,
    ],
    [
      'same account, trust names the account root ARN + identity allow',
      alice,
      trust({ AWS: `arn:aws:iam::${A}:root` }),
      [allowAssume],
      true,
    ],
    [
      'same account, identity allows another role only',
      alice,
      trust({ AWS: A }),
      [allowOther],
      false,
    ],
    [
      'trust names someone else',
      alice,
      trust({ AWS: `arn:aws:iam::${A}:user/bob` }),
      [allowAssume],
      false,
    ],
    [
      'explicit deny in identity policy beats a direct trust',
      alice,
      trust({ AWS: alice.arn }),
      [denyAssume],
      false,
    ],
    [
      'explicit deny in the trust policy',
      alice,
      JSON.stringify({
        Statement: [
          { Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'sts:AssumeRole' },
          { Effect: 'Deny', Principal: '*', Action: 'sts:AssumeRole' },
        ],
      }),
      [],
      false,
    ],
    ['wildcard principal, same account', alice, trust('*'), [], true],
    [
      'cross account: trust names the account, identity allows',
      foreign,
      trust({ AWS: B }),
      [allowAssume],
      true,
    ],
    [
      'cross account: trust names the user, no identity policy',
      foreign,
      trust({ AWS: foreign.arn }),
      [],
      false,
    ],
    [
      'cross account: trust names the user, identity allows',
      foreign,
      trust({ AWS: foreign.arn }),
      [allowAssume],
      true,
    ],
    [
      'cross account: trust does not name the account',
      foreign,
      trust({ AWS: A }),
      [allowAssume],
      false,
    ],
    [
      'role chaining: trust names the source role',
      session,
      trust({ AWS: session.roleArn }),
      [],
      true,
    ],
    ['role chaining: trust names the session ARN', session, trust({ AWS: session.arn }), [], true],
    ['root may not assume roles', rootA, trust({ AWS: A }), [], false],
    [
      'action must be sts:AssumeRole',
      alice,
      trust({ AWS: alice.arn }, { Action: 'sts:TagSession' }),
      [],
      false,
    ],
    [
      'condition on sts:RoleSessionName holds',
      alice,
      trust({ AWS: alice.arn }, { Condition: { StringEquals: { 'sts:RoleSessionName': 'good' } } }),
      [],
      true,
    ],
    [
      'condition on sts:RoleSessionName fails',
      alice,
      trust(
        { AWS: alice.arn },
        { Condition: { StringEquals: { 'sts:RoleSessionName': 'other' } } },
      ),
      [],
      false,
    ],
  ];
  for (const [name, caller, trustPolicy, identityPolicies, allowed] of cases) {
    it(name, () => {
      const d = decideAssumeRole({
        caller,
        roleArn: ROLE,
        roleAccountId: A,
        trustPolicy,
        identityPolicies,
        context: buildContext({ 'sts:RoleSessionName': 'good', 'aws:PrincipalArn': caller.arn }),
      });
      assert.equal(d.allowed, allowed, d.reason);
    });
  }
});

describe('seed file check', () => {
  it('accepts the documented shape', () => {
    checkSeed({
      accounts: [
        {
          id: A,
          rootAccessKeys: [{ accessKeyId: 'AKIAROOT00000000001', secretAccessKeyEnv: 'X' }],
          users: [
            {
              name: 'alice',
              accessKeys: [
                { accessKeyId: 'AKIAALICE0000000001', secretAccessKeyFile: 'alice.secret' },
              ],
              policies: { p: { Version: '2012-10-17', Statement: [] } },
            },
          ],
          roles: [{ name: 'app', trustPolicy: { Statement: [] }, maxSessionDuration: 3600 }],
        },
      ],
    });
  });
  it('refuses inline secrets, unknown fields and bad account ids', () => {
    assert.throws(
      () =>
        checkSeed({
          accounts: [
            {
              id: A,
              users: [{ name: 'a', accessKeys: [{ accessKeyId: 'AKIA1', secretAccessKey: 's' }] }],
            },
          ],
        }),
      (e: unknown) => e instanceof ConfigError && /by reference/.test(e.message),
    );
    assert.throws(() => checkSeed({ accounts: [{ id: A, groups: [] }] }), /unknown field 'groups'/);
    assert.throws(() => checkSeed({ accounts: [{ id: '123' }] }), /12-digit/);
  });
});
