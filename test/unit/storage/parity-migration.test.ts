/**
 * SQLite migration 14 (the PostgreSQL schema's indexes) from a keyhold.db at schema 13 with
 * data: every row is kept, the new indexes exist and the queries use them, and the
 * one-active-domain-key invariant is enforced — also for a database that already broke it
 * (the newest active key stays active, the others become inactive and stay readable).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from '../../../src/storage/sqlite/driver.js';
import { MIGRATIONS } from '../../../src/storage/sqlite/migrations.js';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

const R = 'us-east-1';
const ACCT = '111122223333';
const ROLE = `arn:aws:iam::${ACCT}:role/app`;

const COUNTED = ['keys', 'aliases', 'domain_keys', 'access_keys', 'sts_sessions'] as const;

/** A keyhold.db at schema 13 (the last before migration 14) with rows in every touched table. */
function fixture(activeDomainKeys: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'keyhold-mig014-')), 'keyhold.db');
  const db = new Database(path);
  for (const m of MIGRATIONS.filter((x) => x.version <= 13)) {
    db.exec(m.sql);
    m.run?.(db);
    db.pragma(`user_version = ${m.version}`);
  }
  const key = db.prepare(
    `INSERT INTO keys (region, key_id, account_id, arn, description, key_state, key_spec, key_usage,
       origin, key_manager, multi_region, policy, creation_date, deletion_date, revision)
     VALUES (?, ?, ?, ?, '', ?, 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS', 'CUSTOMER', 0, '{}', 1, ?, 0)`,
  );
  key.run(R, 'k1', ACCT, `arn:aws:kms:${R}:${ACCT}:key/k1`, 'Enabled', null);
  key.run(R, 'k2', ACCT, `arn:aws:kms:${R}:${ACCT}:key/k2`, 'PendingDeletion', 1_800_000_000_000);
  const alias = db.prepare('INSERT INTO aliases VALUES (?, ?, ?, ?, 1, 1)');
  alias.run(R, ACCT, 'alias/a', 'k1');
  alias.run(R, ACCT, 'alias/b', 'k1');
  alias.run(R, ACCT, 'alias/c', 'k2');
  const dk = db.prepare(
    'INSERT INTO domain_keys (id, wrapped, created_at, active) VALUES (?, ?, ?, ?)',
  );
  dk.run('dk-old', Buffer.from('old'), 1000, 0);
  for (let i = 0; i < activeDomainKeys; i++)
    dk.run(`dk-${i}`, Buffer.from(`wrapped-${i}`), 2000 + i, 1);
  const ak = db.prepare('INSERT INTO access_keys VALUES (?, ?, ?, ?, 1)');
  ak.run('AKIAFIXTURE000000001', ACCT, `arn:aws:iam::${ACCT}:user/alice`, Buffer.from('s1'));
  ak.run(
    'AKIAFIXTURE000000002',
    '444455556666',
    `arn:aws:iam::444455556666:root`,
    Buffer.from('s2'),
  );
  db.prepare(
    `INSERT INTO sts_sessions VALUES ('ASIAFIXTURE000000001', ?, ?, ?, ?, 'AROAAPP00000000000001',
       's', ?, 1800000000000, 1)`,
  ).run(ACCT, Buffer.from('s'), Buffer.from('t'), ROLE, `arn:aws:sts::${ACCT}:assumed-role/app/s`);
  db.close();
  return path;
}

function counts(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  const out = Object.fromEntries(
    COUNTED.map((t) => [
      t,
      (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n,
    ]),
  );
  db.close();
  return out;
}

const plan = (s: SqliteStorage, sql: string, ...args: unknown[]) =>
  (s.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[])
    .map((r) => r.detail)
    .join('; ');

it('sqlite: migration 14 keeps every row and adds the PostgreSQL indexes', async () => {
  const path = fixture(1);
  const before = counts(path);
  const s = new SqliteStorage(path);
  assert.equal(s.db.pragma('user_version', { simple: true }), MIGRATIONS.at(-1)?.version);
  assert.ok(Number(MIGRATIONS.at(-1)?.version) >= 14);
  s.db.pragma('wal_checkpoint(TRUNCATE)');
  await s.close();
  assert.deepEqual(counts(path), before);

  const again = new SqliteStorage(path);
  const names = (
    again.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index'")
      .pluck()
      .all() as string[]
  ).sort();
  for (const ix of [
    'domain_keys_one_active',
    'keys_pending_deletion',
    'aliases_by_target',
    'aliases_by_target_key',
    'access_keys_by_account',
    'access_keys_by_principal',
    'sts_sessions_by_role',
  ])
    assert.ok(names.includes(ix), `index ${ix}`);
  // The rows are still read through the storage API.
  assert.deepEqual(
    (await again.listDomainKeys()).map((d) => [d.id, d.active]),
    [
      ['dk-old', false],
      ['dk-0', true],
    ],
  );
  assert.deepEqual(
    (await again.listAccessKeys(ACCT)).map((a) => a.accessKeyId),
    ['AKIAFIXTURE000000001'],
  );
  // And the lookups the indexes are for use them.
  assert.match(
    plan(
      again,
      "SELECT key_id FROM keys WHERE key_state = 'PendingDeletion' AND deletion_date <= ?",
      2e12,
    ),
    /keys_pending_deletion/,
  );
  assert.match(
    plan(again, 'SELECT alias_name FROM aliases WHERE region = ? AND target_key_id = ?', R, 'k1'),
    /aliases_by_target_key/,
  );
  assert.match(
    plan(again, 'SELECT * FROM access_keys WHERE account_id = ? ORDER BY access_key_id', ACCT),
    /access_keys_by_account/,
  );
  assert.match(
    plan(again, 'SELECT access_key_id FROM sts_sessions WHERE role_arn = ?', ROLE),
    /sts_sessions_by_role/,
  );
  await again.close();
});

it('sqlite: after migration 14 the database refuses a second active domain key', async () => {
  const s = new SqliteStorage(fixture(1));
  assert.throws(
    () =>
      s.db
        .prepare(
          "INSERT INTO domain_keys (id, wrapped, created_at, active) VALUES ('x', x'00', 9, 1)",
        )
        .run(),
    (err: Error & { code?: string }) => err.code === 'SQLITE_CONSTRAINT_UNIQUE',
  );
  assert.throws(
    () => s.db.prepare("UPDATE domain_keys SET active = 1 WHERE id = 'dk-old'").run(),
    (err: Error & { code?: string }) => err.code === 'SQLITE_CONSTRAINT_UNIQUE',
  );
  // Rotation (deactivate all, then insert the new one, in one transaction) still works.
  await s.addActiveDomainKey({
    id: 'dk-new',
    wrapped: Buffer.from('new'),
    createdAt: new Date(5000),
    active: true,
  });
  assert.deepEqual(
    (await s.listDomainKeys()).filter((d) => d.active).map((d) => d.id),
    ['dk-new'],
  );
  await s.close();
});

it('sqlite: migration 14 keeps only the newest of several active domain keys active', async () => {
  const path = fixture(3);
  const s = new SqliteStorage(path);
  const keys = await s.listDomainKeys();
  assert.deepEqual(
    keys.map((d) => [d.id, d.active]),
    [
      ['dk-old', false],
      ['dk-0', false],
      ['dk-1', false],
      ['dk-2', true],
    ],
  );
  // Nothing is lost: the deactivated keys keep their wrapped material.
  assert.deepEqual(
    keys.map((d) => d.wrapped.toString()),
    ['old', 'wrapped-0', 'wrapped-1', 'wrapped-2'],
  );
  await s.close();
});
