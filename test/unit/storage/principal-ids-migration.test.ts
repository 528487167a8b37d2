/**
 * Migration 011 (SQLite) and 4 (PostgreSQL) from the schema released before them: a database
 * with users, roles, key policies, trust policies and grants naming them by ARN is bound
 * to the principals' unique ids when it is opened; ARNs naming no principal stay unbound;
 * a re-opened database is not migrated twice.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import Database from '../../../src/storage/sqlite/driver.js';
import { MIGRATIONS } from '../../../src/storage/sqlite/migrations.js';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';
import pg from 'pg';
import { PG_MIGRATIONS } from '../../../src/storage/postgres/pg-migrations.js';
import { PostgresStorage } from '../../../src/storage/postgres/pg-storage.js';
import { createTestDatabase } from '../../helpers/postgres.js';

const ACCT = '111122223333';
const ALICE = `arn:aws:iam::${ACCT}:user/alice`;
const APP = `arn:aws:iam::${ACCT}:role/app`;
const GONE = `arn:aws:iam::${ACCT}:user/gone`;
const ALICE_ID = 'AIDAALICE000000000001';
const APP_ID = 'AROAAPP00000000000001';

const policy = (...arns: string[]) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCT}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      { Effect: 'Allow', Principal: { AWS: arns }, Action: 'kms:Encrypt', Resource: '*' },
      { Effect: 'Deny', NotPrincipal: { AWS: ALICE }, Action: 'kms:Decrypt', Resource: '*' },
    ],
  });

/** A keyhold.db at schema 9 (the last released migration before this work). */
function fixture(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'keyhold-mig011-')), 'keyhold.db');
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 9)) {
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
  db.prepare('INSERT INTO iam_accounts VALUES (?, ?)').run(ACCT, 1);
  const principal = db.prepare(
    'INSERT INTO iam_principals (arn, account_id, kind, name, path, unique_id, trust_policy, max_session_duration, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)',
  );
  principal.run(ALICE, ACCT, 'user', 'alice', '/', ALICE_ID, null, null, null);
  principal.run(APP, ACCT, 'role', 'app', '/', APP_ID, policy(ALICE, GONE), 3600, '');
  const key = db.prepare(
    `INSERT INTO keys (region, key_id, account_id, arn, description, key_state, key_spec, key_usage,
       origin, key_manager, multi_region, policy, creation_date, revision)
     VALUES ('us-east-1', ?, ?, ?, '', 'Enabled', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS', 'CUSTOMER', 0, ?, 1, 0)`,
  );
  key.run('k1', ACCT, `arn:aws:kms:us-east-1:${ACCT}:key/k1`, policy(ALICE, APP));
  key.run('k2', ACCT, `arn:aws:kms:us-east-1:${ACCT}:key/k2`, '{"Statement": "not a policy"');
  const grant = db.prepare(
    `INSERT INTO grants (region, key_id, grant_id, account_id, issuing_principal, grantee_principal,
       retiring_principal, operations, creation_date, fingerprint)
     VALUES ('us-east-1', 'k1', ?, ?, ?, ?, ?, '["Encrypt"]', 1, ?)`,
  );
  grant.run('g1', ACCT, `arn:aws:iam::${ACCT}:root`, APP, ALICE, 'f1');
  grant.run('g2', ACCT, `arn:aws:iam::${ACCT}:root`, GONE, null, 'f2');
  db.close();
  return path;
}

it('migration 011 binds existing key policies, trust policies and grants to unique ids', async () => {
  const path = fixture();
  const s = new SqliteStorage(path);
  assert.equal(s.db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)?.version);

  const k1 = await s.getKey('us-east-1', 'k1');
  assert.deepEqual(k1?.policyPrincipals, { [ALICE]: ALICE_ID, [APP]: APP_ID });
  assert.equal(k1?.policy, policy(ALICE, APP), 'the policy text is unchanged');
  const k2 = await s.getKey('us-east-1', 'k2');
  assert.equal(k2?.policyPrincipals, undefined, 'an unparsable policy binds nothing');

  const role = await s.iam.getRole(APP);
  assert.deepEqual(
    role?.trustPolicyPrincipals,
    { [ALICE]: ALICE_ID },
    'the missing user stays unbound',
  );

  const g1 = await s.grants.getGrant('us-east-1', 'k1', 'g1');
  assert.equal(g1?.granteePrincipalId, APP_ID);
  assert.equal(g1?.retiringPrincipalId, ALICE_ID);
  const g2 = await s.grants.getGrant('us-east-1', 'k1', 'g2');
  assert.equal(g2?.granteePrincipalId, undefined);
  assert.equal(g2?.retiringPrincipalId, undefined);
  await s.close();

  // Opening again applies nothing twice (ALTER TABLE ADD COLUMN would fail if it did).
  const again = new SqliteStorage(path);
  assert.deepEqual((await again.getKey('us-east-1', 'k1'))?.policyPrincipals, k1?.policyPrincipals);
  await again.close();
});

it('a key written after the migration round-trips its bindings; none is stored as NULL', async () => {
  const s = new SqliteStorage(fixture());
  const k1 = await s.getKey('us-east-1', 'k1');
  assert.ok(k1 !== undefined);
  const next = await s.updateKey({ ...k1, policyPrincipals: {} });
  const raw = s.db.prepare("SELECT policy_principals FROM keys WHERE key_id = 'k1'").pluck().get();
  assert.equal(raw, null);
  assert.equal((await s.getKey('us-east-1', 'k1'))?.policyPrincipals, undefined);
  await s.updateKey({ ...next, policyPrincipals: { [ALICE]: ALICE_ID } });
  assert.deepEqual((await s.getKey('us-east-1', 'k1'))?.policyPrincipals, { [ALICE]: ALICE_ID });
  await s.close();
});

it('PostgreSQL migration 4 binds existing data the same way', async () => {
  const db = await createTestDatabase();
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    // The schema as released before this work (migrations 1–3), with data naming principals.
    await c.query(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    for (const m of PG_MIGRATIONS.filter((x) => x.version <= 3)) {
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [
        m.version,
        m.description,
      ]);
    }
    await c.query('INSERT INTO iam_accounts VALUES ($1, 1)', [ACCT]);
    const principal =
      'INSERT INTO iam_principals (arn, account_id, kind, name, path, unique_id, trust_policy, max_session_duration, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)';
    await c.query(principal, [ALICE, ACCT, 'user', 'alice', '/', ALICE_ID, null, null, null]);
    await c.query(principal, [
      APP,
      ACCT,
      'role',
      'app',
      '/',
      APP_ID,
      policy(ALICE, GONE),
      3600,
      '',
    ]);
    await c.query(
      `INSERT INTO keys (region, key_id, account_id, arn, description, key_state, key_spec, key_usage,
         origin, key_manager, multi_region, policy, creation_date, revision)
       VALUES ('us-east-1', 'k1', $1, $2, '', 'Enabled', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS', 'CUSTOMER', false, $3, 1, 0)`,
      [ACCT, `arn:aws:kms:us-east-1:${ACCT}:key/k1`, policy(ALICE, APP)],
    );
    await c.query(
      `INSERT INTO grants (region, key_id, grant_id, account_id, issuing_principal, grantee_principal,
         retiring_principal, operations, creation_date, fingerprint)
       VALUES ('us-east-1', 'k1', 'g1', $1, $2, $3, $4, '["Encrypt"]', 1, 'f1')`,
      [ACCT, `arn:aws:iam::${ACCT}:root`, APP, GONE],
    );
  } finally {
    await c.end();
  }
  const s = await PostgresStorage.open(db.url);
  try {
    assert.deepEqual((await s.getKey('us-east-1', 'k1'))?.policyPrincipals, {
      [ALICE]: ALICE_ID,
      [APP]: APP_ID,
    });
    assert.deepEqual((await s.iam.getRole(APP))?.trustPolicyPrincipals, { [ALICE]: ALICE_ID });
    const g1 = await s.grants.getGrant('us-east-1', 'k1', 'g1');
    assert.equal(g1?.granteePrincipalId, APP_ID);
    assert.equal(
      g1?.retiringPrincipalId,
      undefined,
      'a principal that does not exist stays unbound',
    );
  } finally {
    await s.close();
    await db.drop();
  }
});
