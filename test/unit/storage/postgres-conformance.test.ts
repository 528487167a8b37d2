import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, it } from 'node:test';
import pg from 'pg';
import { PG_MIGRATIONS } from '../../../src/storage/postgres/pg-migrations.js';
import { PostgresStorage } from '../../../src/storage/postgres/pg-storage.js';
import { parsePgUrl } from '../../../src/storage/postgres/pg-db.js';
import type { Storage } from '../../../src/storage/repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { storageConformance } from './conformance.js';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

// One database for this run; each store is a fresh schema in it (cheap, isolated).
const schemas = new WeakMap<Storage, string>();
const openSchema = async (schema: string) => {
  const s = await PostgresStorage.open(db.url, { schema, max: 4 });
  schemas.set(s, schema);
  return s;
};

storageConformance('postgres', {
  open: () => openSchema(`s_${randomBytes(5).toString('hex')}`),
  async reopen(s) {
    const schema = schemas.get(s) as string;
    await s.close();
    return openSchema(schema);
  },
});

it('postgres: records every migration once, also when several nodes start at once', async () => {
  const schema = `s_${randomBytes(5).toString('hex')}`;
  const stores = await Promise.all(
    [1, 2, 3, 4].map(() => PostgresStorage.open(db.url, { schema, max: 2 })),
  );
  const r = await stores[0]!.db.query('SELECT version FROM schema_migrations ORDER BY version');
  assert.deepEqual(
    r.rows.map((x) => Number(x.version)),
    PG_MIGRATIONS.map((m) => m.version),
  );
  await Promise.all(stores.map((s) => s.close()));
});

it('postgres: a multi-host URL connects to the writable host and skips dead ones', async () => {
  const u = new URL(db.url);
  // Port 1 refuses at once; the real server follows.
  const multi = `postgres://${u.username}@127.0.0.1:1,${u.host}${u.pathname}?target_session_attrs=read-write`;
  assert.deepEqual(parsePgUrl(multi).hosts, [
    `postgres://${u.username}@127.0.0.1:1${u.pathname}`,
    `postgres://${u.username}@${u.host}${u.pathname}`,
  ]);
  const s = await PostgresStorage.open(multi, { schema: `s_${randomBytes(5).toString('hex')}` });
  assert.equal(s.db.currentHost, `postgres://${u.username}@${u.host}${u.pathname}`);
  await s.close();
  await assert.rejects(
    PostgresStorage.open(`postgres://${u.username}@127.0.0.1:1${u.pathname}`),
    /no writable PostgreSQL server/,
  );
  assert.throws(() => parsePgUrl('postgres://h/db?target_session_attrs=standby'), /not supported/);
});

it('postgres: re-resolves the primary by itself after its connections are killed', async () => {
  const s = await PostgresStorage.open(db.url, { schema: `s_${randomBytes(5).toString('hex')}` });
  await s.listDomainKeys();
  const killer = new pg.Client({ connectionString: db.url });
  await killer.connect();
  await killer.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [db.name],
  );
  await killer.end();
  // The first query may see the dead connection; the pool then finds the server again.
  let ok = false;
  for (let i = 0; i < 5 && !ok; i++) {
    try {
      await s.listDomainKeys();
      ok = true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.ok(ok, 'the store answers again without a restart');
  await s.close();
});

it('postgres audit: one chain per node id, and a batch that does not continue the head is refused', async () => {
  const { PgAuditRepository } = await import('../../../src/storage/postgres/pg-audit.js');
  const { AuditLog } = await import('../../../src/audit/audit-log.js');
  const { verifyAudit } = await import('../../../src/audit/verify.js');
  const s = await PostgresStorage.open(db.url, { schema: `s_${randomBytes(5).toString('hex')}` });
  const key = randomBytes(32);
  const input = (operation: string) => ({
    operation,
    requestId: randomBytes(8).toString('hex'),
    eventTime: new Date(),
    sourceIp: '127.0.0.1',
    userAgent: 'test',
    region: 'us-east-1',
    recipientAccountId: '111122223333',
    input: {},
    output: {},
    keyArns: [],
    readOnly: false,
  });
  const a = new PgAuditRepository(s.db, 'node-a');
  const b = new PgAuditRepository(s.db, 'node-b');
  const logA = await AuditLog.open(a, key);
  const logB = await AuditLog.open(b, key);
  await Promise.all([logA.record(input('CreateKey')), logB.record(input('Encrypt'))]);
  await logA.record(input('Decrypt'));
  assert.deepEqual(await PgAuditRepository.listChains(s.db), ['node-a', 'node-b']);
  assert.equal((await a.getAuditHead())?.seq, 2);
  assert.equal((await b.getAuditHead())?.seq, 1);
  const okA = await verifyAudit(a, key);
  assert.deepEqual([okA.ok, okA.events, okA.head?.seq], [true, 2, 2]);
  const okB = await verifyAudit(b, key);
  assert.deepEqual([okB.ok, okB.events, okB.head?.seq], [true, 1, 1]);
  // A second writer with node-a's id, starting from a stale head, cannot fork the chain.
  const rows = await a.readAudit(0, 10);
  const stale = { ...rows[0]!, eventId: 'other', seq: 2 };
  await assert.rejects(
    a.appendAudit([stale], { seq: 2, chainHash: stale.chainHash, mac: Buffer.alloc(32) }),
    /another process writes with this node id/,
  );
  const again = await verifyAudit(a, key);
  assert.deepEqual([again.ok, again.events, again.head?.seq], [true, 2, 2]);
  await s.close();
});
