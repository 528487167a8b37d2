/**
 * One SQL layer for both adapters: queries and row mappers written once, run on SQLite
 * (better-sqlite3) or PostgreSQL (pg).
 *
 * better-sqlite3 is synchronous and its transactions must not await, pg is asynchronous.
 * So shared storage code does not call a database: it is a generator (`Work<T>`) that
 * yields statements (`all`, `one`, `run`, written with `?` placeholders) and receives
 * their results. `sqliteExecutor` drives it synchronously (inside `db.transaction` when
 * asked), `pgExecutor` asynchronously (inside `PgDb.tx` when asked), translating `?` to
 * `$n`. Parameters are mapped once here: a Date is epoch milliseconds on both (the schemas
 * store times as INTEGER / BIGINT), a boolean is 1/0 on SQLite and a BOOLEAN on
 * PostgreSQL. Reading rows back the same way on both is `sql/values.ts`.
 *
 * Dialect-specific work (advisory locks, NOTIFY, leases, the change log) stays in the
 * adapters.
 */
import type BetterSqlite3 from 'better-sqlite3';

export type Param = string | number | bigint | boolean | Date | Buffer | null;
export type Row = Record<string, unknown>;

type Op =
  | { kind: 'all'; sql: string; params: readonly Param[] }
  | { kind: 'one'; sql: string; params: readonly Param[] }
  | { kind: 'run'; sql: string; params: readonly Param[] };

/** Storage work written once: yields statements, returns T. */
export type Work<T> = Generator<Op, T, unknown>;

/** Every row of a query. */
export function* all(sql: string, params: readonly Param[] = []): Work<Row[]> {
  return (yield { kind: 'all', sql, params }) as Row[];
}

/** The first row of a query, or undefined. */
export function* one(sql: string, params: readonly Param[] = []): Work<Row | undefined> {
  return (yield { kind: 'one', sql, params }) as Row | undefined;
}

/** A statement that returns no rows; resolves to the number of rows it changed. */
export function* run(sql: string, params: readonly Param[] = []): Work<number> {
  return (yield { kind: 'run', sql, params }) as number;
}

export interface SqliteExecutor {
  /** Run `work` (each statement in its own implicit transaction). */
  query<T>(work: Work<T>): T;
  /** Run `work` in one transaction (nested: a savepoint, as better-sqlite3 does). */
  tx<T>(work: Work<T>): T;
}

export function sqliteExecutor(db: BetterSqlite3.Database): SqliteExecutor {
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepared = (sql: string) => {
    let s = statements.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  const exec = (op: Op): unknown => {
    const params = op.params.map(sqliteParam);
    const s = prepared(op.sql);
    switch (op.kind) {
      case 'all':
        return s.all(...params);
      case 'one':
        return s.get(...params);
      case 'run':
        return s.run(...params).changes;
    }
  };
  const drive = <T>(work: Work<T>): T => {
    let step = work.next();
    while (step.done !== true) {
      let result: unknown;
      try {
        result = exec(step.value);
      } catch (err) {
        // The work may catch a statement's error (a unique violation, say) and go on
        // (on PostgreSQL, not inside a transaction: the failed statement aborted it).
        step = work.throw(err);
        continue;
      }
      step = work.next(result);
    }
    return step.value;
  };
  return {
    query: drive,
    tx: <T>(work: Work<T>): T => db.transaction(() => drive(work))(),
  };
}

/** What pgExecutor runs statements on: the pool (PgDb) or a transaction's client. */
export interface PgQueryable {
  query(
    text: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

export interface PgExecutor {
  /** Run `work` on `q` (the pool: each statement on its own; a client: in its transaction). */
  query<T>(work: Work<T>, q?: PgQueryable): Promise<T>;
  /** Run `work` in one transaction. */
  tx<T>(work: Work<T>): Promise<T>;
}

export function pgExecutor(db: {
  query: PgQueryable['query'];
  tx<T>(fn: (c: PgQueryable) => Promise<T>): Promise<T>;
}): PgExecutor {
  const drive = async <T>(q: PgQueryable, work: Work<T>): Promise<T> => {
    let step = work.next();
    while (step.done !== true) {
      const op = step.value;
      let r: Awaited<ReturnType<PgQueryable['query']>>;
      try {
        r = await q.query(toPgPlaceholders(op.sql), op.params.map(pgParam));
      } catch (err) {
        step = work.throw(err);
        continue;
      }
      step = work.next(
        op.kind === 'all' ? r.rows : op.kind === 'one' ? r.rows[0] : (r.rowCount ?? 0),
      );
    }
    return step.value;
  };
  return {
    query: (work, q = db) => drive(q, work),
    tx: (work) => db.tx((c) => drive(c, work)),
  };
}

const translated = new Map<string, string>();

/** `?` → `$1`, `$2`, …, outside string literals and quoted identifiers. */
export function toPgPlaceholders(sql: string): string {
  const cached = translated.get(sql);
  if (cached !== undefined) return cached;
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') out += `$${++n}`;
    else out += ch;
  }
  translated.set(sql, out);
  return out;
}

function sqliteParam(p: Param): unknown {
  if (p instanceof Date) return p.getTime();
  if (typeof p === 'boolean') return p ? 1 : 0;
  return p;
}

function pgParam(p: Param): unknown {
  if (p instanceof Date) return p.getTime();
  return p;
}
