/**
 * src/storage/sql/executor.ts: one Work (generator of statements) runs the same on SQLite
 * and PostgreSQL — placeholders, parameters (dates, booleans) and results; a transaction
 * rolls back on both when the work throws.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import Database from '../../../src/storage/sqlite/driver.js';
import { PgDb } from '../../../src/storage/postgres/pg-db.js';
import {
  all,
  one,
  pgExecutor,
  run,
  sqliteExecutor,
  toPgPlaceholders,
  type Work,
} from '../../../src/storage/sql/executor.js';
import { bool, date, int, optional, text } from '../../../src/storage/sql/values.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

it('sql: ? becomes $n outside string literals and quoted identifiers', () => {
  assert.equal(
    toPgPlaceholders(`SELECT '?', "a?" FROM t WHERE a = ? AND b = ? AND c = 'x''?'`),
    `SELECT '?', "a?" FROM t WHERE a = $1 AND b = $2 AND c = 'x''?'`,
  );
});

interface Thing {
  id: string;
  on: boolean;
  at: Date;
  note: string | undefined;
}

function* roundTrip(): Work<{ things: Thing[]; changed: number; missing: boolean }> {
  yield* run('INSERT INTO things (id, on_flag, at, note) VALUES (?, ?, ?, ?)', [
    'a',
    true,
    new Date(1_700_000_000_123),
    null,
  ]);
  yield* run('INSERT INTO things (id, on_flag, at, note) VALUES (?, ?, ?, ?)', [
    'b',
    false,
    new Date(5),
    'n',
  ]);
  const changed = yield* run('UPDATE things SET note = ? WHERE at > ?', ['later', new Date(10)]);
  const missing = (yield* one('SELECT id FROM things WHERE id = ?', ['zz'])) === undefined;
  const rows = yield* all('SELECT * FROM things ORDER BY id');
  return {
    things: rows.map((r) => ({
      id: text(r.id),
      on: bool(r.on_flag),
      at: date(r.at),
      note: optional(r.note, text),
    })),
    changed,
    missing,
  };
}

const WANT = {
  things: [
    { id: 'a', on: true, at: new Date(1_700_000_000_123), note: 'later' },
    { id: 'b', on: false, at: new Date(5), note: 'n' },
  ],
  changed: 1,
  missing: true,
};

function* failing(): Work<void> {
  yield* run('INSERT INTO things (id, on_flag, at, note) VALUES (?, ?, ?, ?)', [
    'c',
    true,
    new Date(1),
    null,
  ]);
  throw new Error('boom');
}

/** A statement's error reaches the work, which may catch it. */
function* insertOnce(id: string): Work<string> {
  try {
    yield* run('INSERT INTO things (id, on_flag, at, note) VALUES (?, ?, ?, ?)', [
      id,
      true,
      new Date(1),
      null,
    ]);
    return 'inserted';
  } catch (err) {
    return `refused: ${(err as Error).message.includes('UNIQUE') || (err as { code?: string }).code === '23505'}`;
  }
}

it('sql: a Work runs on SQLite (booleans 0/1, dates as ms) and rolls back in tx', () => {
  const db = new Database(':memory:');
  db.exec(
    'CREATE TABLE things (id TEXT PRIMARY KEY, on_flag INTEGER NOT NULL, at INTEGER NOT NULL, note TEXT)',
  );
  const sql = sqliteExecutor(db);
  assert.deepEqual(sql.tx(roundTrip()), WANT);
  assert.throws(() => sql.tx(failing()), /boom/);
  assert.equal(int(sql.query(one('SELECT count(*) AS n FROM things'))?.n), 2);
  assert.equal(sql.query(insertOnce('a')), 'refused: true');
  assert.equal(sql.query(insertOnce('z')), 'inserted');
  db.close();
});

let pgDb: TestDatabase;
before(async () => {
  pgDb = await createTestDatabase();
});
after(async () => {
  await pgDb.drop();
});

it('sql: the same Work runs on PostgreSQL (BOOLEAN, BIGINT ms) and rolls back in tx', async () => {
  const db = new PgDb(pgDb.url, { max: 2 });
  try {
    await db.query(
      'CREATE TABLE things (id TEXT PRIMARY KEY, on_flag BOOLEAN NOT NULL, at BIGINT NOT NULL, note TEXT)',
    );
    const sql = pgExecutor(db);
    assert.deepEqual(await sql.tx(roundTrip()), WANT);
    await assert.rejects(sql.tx(failing()), /boom/);
    assert.equal(int((await sql.query(one('SELECT count(*) AS n FROM things')))?.n), 2);
    assert.equal(await sql.query(insertOnce('a')), 'refused: true');
    assert.equal(await sql.query(insertOnce('z')), 'inserted');
  } finally {
    await db.close();
  }
});
