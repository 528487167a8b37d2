/**
 * The SQLite schema (keyhold.db) and the PostgreSQL schema agree: a fresh database of each,
 * fully migrated, has the same tables, the same columns (names, types through the dialect
 * table below, NOT NULL), the same primary keys, the same named indexes (columns in order,
 * uniqueness, partial predicate), the same unique constraints and the same CHECK constraints.
 * What differs on purpose is listed below with its reason; anything else is drift.
 *
 * Not compared: SQLite's `AFTER DELETE ON keys` triggers (PostgreSQL's deleteKey removes a
 * key's dependent rows in its own transaction), collations of plain columns (PostgreSQL
 * orders pages by COLLATE "C", which is SQLite's byte order).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { PostgresStorage } from '../../../src/storage/postgres/pg-storage.js';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

/** Tables one dialect needs and the other does not, each with why. */
const ONLY_SQLITE: Record<string, string> = {
  change_log:
    'the invalidation channel between processes on one file (PostgreSQL: NOTIFY, pg-notify.ts)',
};
const ONLY_POSTGRES: Record<string, string> = {
  schema_migrations: 'the applied migrations (SQLite: PRAGMA user_version)',
  job_leases: 'the background-job lease between nodes (SQLite: a kms_meta row, sqlite-leases.ts)',
  audit_events:
    'per-node audit chains in the shared database (SQLite: its own audit.db, audit-db.ts)',
  audit_heads: 'the head of each audit chain (SQLite: audit_head in audit.db)',
};

/**
 * Column types: SQLite's storage class ↔ PostgreSQL's types. Booleans are INTEGER 0/1 in
 * SQLite; times are epoch milliseconds (INTEGER / BIGINT).
 */
const SQLITE_TYPE: Record<string, string> = { INTEGER: 'integer', TEXT: 'text', BLOB: 'bytes' };
const PG_TYPE: Record<string, string> = {
  bigint: 'integer',
  integer: 'integer',
  boolean: 'integer',
  text: 'text',
  bytea: 'bytes',
  'timestamp with time zone': 'timestamp',
};

interface Column {
  type: string;
  notNull: boolean;
}
interface Table {
  columns: Record<string, Column>;
  primaryKey: string[];
  /** Unique constraints (not indexes by name: their names are generated), as "a,b". */
  unique: string[];
  /** CHECK (column IN (...)) constraints, as "column IN (a,b)". */
  checks: string[];
}
interface Index {
  table: string;
  columns: string[];
  unique: boolean;
  where: string | null;
}
interface Schema {
  tables: Record<string, Table>;
  indexes: Record<string, Index>;
}

/**
 * Index columns and predicates in one spelling. `name COLLATE NOCASE` (SQLite) and
 * `lower(name)` (PostgreSQL) are the same case-insensitive key; `active = 1` on an INTEGER
 * boolean is `active` on a BOOLEAN; PostgreSQL's casts and parentheses are dropped.
 */
function normExpr(s: string): string {
  let t = s
    .replace(/::[a-z ]+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  while (t.startsWith('(') && t.endsWith(')')) t = t.slice(1, -1).trim();
  t = t.replace(/^(\w+) COLLATE NOCASE$/i, 'lower($1)');
  t = t.replace(/^(\w+) = (1|true)$/i, '$1');
  return t;
}

const sorted = <T>(o: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

type Row = Record<string, unknown>;

function sqliteSchema(s: SqliteStorage): Schema {
  const db = s.db;
  const tables: Record<string, Table> = {};
  const indexes: Record<string, Index> = {};
  const master = db
    .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    .all() as Row[];
  for (const t of master.filter((m) => m.type === 'table')) {
    const name = String(t.name);
    const cols = db.prepare(`PRAGMA table_xinfo("${name}")`).all() as Row[];
    const columns: Record<string, Column> = {};
    for (const c of cols) {
      const type = SQLITE_TYPE[String(c.type).toUpperCase()];
      assert.ok(type, `sqlite ${name}.${String(c.name)}: type ${String(c.type)} not in the table`);
      // A primary-key column is never NULL in keyhold's use (SQLite allows it in rowid tables).
      columns[String(c.name)] = { type, notNull: c.notnull === 1 || Number(c.pk) > 0 };
    }
    const primaryKey = cols
      .filter((c) => Number(c.pk) > 0)
      .sort((a, b) => Number(a.pk) - Number(b.pk))
      .map((c) => String(c.name));
    const unique: string[] = [];
    for (const ix of db.prepare(`PRAGMA index_list("${name}")`).all() as Row[]) {
      const ixCols = (db.prepare(`PRAGMA index_xinfo("${String(ix.name)}")`).all() as Row[])
        .filter((c) => c.key === 1)
        .map((c) => {
          assert.notEqual(c.cid, -2, `sqlite index ${String(ix.name)}: expression column`);
          const coll = String(c.coll);
          return normExpr(coll === 'BINARY' ? String(c.name) : `${String(c.name)} COLLATE ${coll}`);
        });
      if (ix.origin === 'pk') continue;
      if (ix.origin === 'u') {
        unique.push(ixCols.join(','));
        continue;
      }
      const sql = String(master.find((m) => m.name === ix.name)?.sql ?? '');
      const where = /\bWHERE\b([\s\S]*)$/i.exec(sql)?.[1];
      indexes[String(ix.name)] = {
        table: name,
        columns: ixCols,
        unique: ix.unique === 1,
        where: where === undefined ? null : normExpr(where),
      };
    }
    const checks = [...String(t.sql).matchAll(/CHECK \((\w+) IN \(([^)]*)\)\)/gi)].map(
      (m) => `${m[1]} IN (${[...String(m[2]).matchAll(/'([^']*)'/g)].map((v) => v[1]).join(',')})`,
    );
    tables[name] = {
      columns: sorted(columns),
      primaryKey,
      unique: unique.sort(),
      checks: checks.sort(),
    };
  }
  return { tables: sorted(tables), indexes: sorted(indexes) };
}

async function pgSchema(s: PostgresStorage, schema: string): Promise<Schema> {
  const q = async (sql: string) => (await s.db.query(sql, [schema])).rows as Row[];
  const tables: Record<string, Table> = {};
  const indexes: Record<string, Index> = {};
  for (const t of await q(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
  ))
    tables[String(t.table_name)] = { columns: {}, primaryKey: [], unique: [], checks: [] };
  for (const c of await q(
    'SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1',
  )) {
    const table = tables[String(c.table_name)];
    if (table === undefined) continue;
    const type = PG_TYPE[String(c.data_type)];
    assert.ok(
      type,
      `pg ${String(c.table_name)}.${String(c.column_name)}: type ${String(c.data_type)}`,
    );
    table.columns[String(c.column_name)] = { type, notNull: c.is_nullable === 'NO' };
  }
  const ixRows = await q(
    `SELECT i.relname AS name, t.relname AS table_name, x.indisunique AS is_unique,
            pg_get_expr(x.indpred, x.indrelid) AS pred, c.contype,
            array(SELECT pg_get_indexdef(x.indexrelid, k, true)
                  FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k) AS cols
       FROM pg_index x
       JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
      WHERE n.nspname = $1`,
  );
  for (const ix of ixRows) {
    const table = tables[String(ix.table_name)];
    if (table === undefined) continue;
    const cols = (ix.cols as string[]).map(normExpr);
    if (ix.contype === 'p') table.primaryKey = cols;
    else if (ix.contype === 'u') table.unique.push(cols.join(','));
    else
      indexes[String(ix.name)] = {
        table: String(ix.table_name),
        columns: cols,
        unique: ix.is_unique === true,
        where: ix.pred === null ? null : normExpr(String(ix.pred)),
      };
  }
  for (const c of await q(
    `SELECT t.relname AS table_name, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND c.contype = 'c'`,
  )) {
    const table = tables[String(c.table_name)];
    if (table === undefined) continue;
    const def = String(c.def);
    const m = /^CHECK \(\(\(?(\w+)\)?(?:::\w+)? = ANY/.exec(def);
    assert.ok(m, `pg ${String(c.table_name)}: unexpected CHECK form ${def}`);
    const values = [...def.matchAll(/'([^']*)'/g)].map((v) => v[1]);
    table.checks.push(`${m[1]} IN (${values.join(',')})`);
  }
  for (const t of Object.values(tables)) {
    t.columns = sorted(t.columns);
    t.unique.sort();
    t.checks.sort();
  }
  return { tables: sorted(tables), indexes: sorted(indexes) };
}

/** The schema without the tables (and their indexes) one dialect has on purpose. */
function shared(s: Schema, only: Record<string, string>): Schema {
  return {
    tables: Object.fromEntries(Object.entries(s.tables).filter(([n]) => !(n in only))),
    indexes: Object.fromEntries(Object.entries(s.indexes).filter(([, ix]) => !(ix.table in only))),
  };
}

let pgDb: TestDatabase;
let lite: Schema;
let postgres: Schema;
before(async () => {
  pgDb = await createTestDatabase();
  const schema = `s_${randomBytes(5).toString('hex')}`;
  const p = await PostgresStorage.open(pgDb.url, { schema, max: 2 });
  try {
    postgres = await pgSchema(p, schema);
  } finally {
    await p.close();
  }
  const l = new SqliteStorage(join(mkdtempSync(join(tmpdir(), 'keyhold-parity-')), 'keyhold.db'));
  try {
    lite = sqliteSchema(l);
  } finally {
    await l.close();
  }
});
after(async () => {
  await pgDb.drop();
});

it('schema parity: the tables only one dialect has are exactly the listed ones', () => {
  const l = Object.keys(lite.tables);
  const p = Object.keys(postgres.tables);
  assert.deepEqual(
    l.filter((t) => !p.includes(t)),
    Object.keys(ONLY_SQLITE).sort(),
  );
  assert.deepEqual(
    p.filter((t) => !l.includes(t)),
    Object.keys(ONLY_POSTGRES).sort(),
  );
});

it('schema parity: same columns (names, types, NOT NULL), primary keys and constraints', () => {
  assert.deepEqual(shared(lite, ONLY_SQLITE).tables, shared(postgres, ONLY_POSTGRES).tables);
});

it('schema parity: same indexes (columns, uniqueness, partial predicate)', () => {
  assert.deepEqual(shared(lite, ONLY_SQLITE).indexes, shared(postgres, ONLY_POSTGRES).indexes);
});

it('schema parity: the invariants the issue named are indexes on both', () => {
  for (const [name, want] of Object.entries({
    domain_keys_one_active: { unique: true, where: 'active' },
    keys_pending_deletion: { unique: false, where: "key_state = 'PendingDeletion'" },
    aliases_by_target_key: { unique: false, where: null },
    access_keys_by_account: { unique: false, where: null },
    sts_sessions_by_role: { unique: false, where: null },
  })) {
    for (const [dialect, s] of [
      ['sqlite', lite],
      ['postgres', postgres],
    ] as const) {
      const ix = s.indexes[name];
      assert.ok(ix, `${dialect}: no index ${name}`);
      assert.deepEqual({ unique: ix.unique, where: ix.where }, want, `${dialect}: ${name}`);
    }
  }
});
