/**
 * Cross-process invalidation for SQLite mode (several processes on one keyhold.db). A
 * writer appends `change_log` rows inside the transaction that changes the data; a reader
 * asks `PRAGMA data_version` (a counter that moves only when *another* connection
 * committed; no I/O) before each authentication and authorization, and only when it
 * moved, or this process wrote, reads the new rows and delivers them to its caches. A
 * revocation committed by any process is therefore seen by every process on its next
 * request, without a TTL.
 */
import type BetterSqlite3 from 'better-sqlite3';
import {
  InvalidationFanout,
  parseInvalidation,
  type Invalidation,
  type InvalidationChannel,
} from '../invalidation.js';

/** Rows older than this are pruned; a process that slept longer forgets all it cached. */
export const CHANGE_LOG_RETENTION_MS = 60 * 60 * 1000;
/** Prune on every Nth append (cheap: an indexed range delete). */
const PRUNE_EVERY = 256;

export class SqliteChangeLog implements InvalidationChannel {
  readonly live = true;
  readonly #fanout = new InvalidationFanout();
  readonly #dataVersion: BetterSqlite3.Statement;
  readonly #after: BetterSqlite3.Statement;
  readonly #append: BetterSqlite3.Statement;
  readonly #prune: BetterSqlite3.Statement;
  readonly #newest: BetterSqlite3.Statement;
  readonly #now: () => number;
  #seen: number;
  #version: number;
  /** This process appended rows: its own connection does not move data_version. */
  #dirty = false;

  constructor(db: BetterSqlite3.Database, now: () => number = Date.now) {
    this.#now = now;
    this.#dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.#after = db.prepare('SELECT seq, payload FROM change_log WHERE seq > ? ORDER BY seq');
    this.#append = db.prepare('INSERT INTO change_log (payload, at) VALUES (?, ?)');
    this.#prune = db.prepare('DELETE FROM change_log WHERE at < ?');
    this.#newest = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'change_log'").pluck();
    this.#version = Number(this.#dataVersion.get());
    // Nothing is cached yet: start after the newest row.
    this.#seen = this.#newestSeq();
  }

  #newestSeq(): number {
    return Number(this.#newest.get() ?? 0);
  }

  /** Append a message; call inside the transaction that makes the change. */
  record(payload: string): void {
    const seq = Number(this.#append.run(payload, this.#now()).lastInsertRowid);
    if (seq % PRUNE_EVERY === 0) this.#prune.run(this.#now() - CHANGE_LOG_RETENTION_MS);
    this.#dirty = true;
  }

  subscribe(fn: (m: Invalidation) => void): void {
    this.#fanout.subscribe(fn);
  }

  catchUp(): void {
    const version = Number(this.#dataVersion.get());
    if (version === this.#version && !this.#dirty) return;
    this.#version = version;
    this.#dirty = false;
    const rows = this.#after.all(this.#seen) as { seq: number; payload: string }[];
    const first = rows[0];
    // Rows we never read were pruned: we cannot know what they named.
    const missed =
      first === undefined ? this.#newestSeq() > this.#seen : first.seq > this.#seen + 1;
    if (missed) {
      this.#seen = Math.max(this.#seen, this.#newestSeq());
      this.#fanout.emit({ kind: 'all' });
    }
    for (const r of rows) {
      this.#seen = r.seq;
      const m = parseInvalidation(r.payload);
      if (m !== undefined) this.#fanout.emit(m);
    }
  }
}
