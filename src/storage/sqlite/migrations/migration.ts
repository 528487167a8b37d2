/** One versioned SQLite schema migration (the list is migrations.ts; each entry its own file here). */
import type BetterSqlite3 from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** A data step after the SQL, in the same transaction. */
  run?: (db: BetterSqlite3.Database) => void;
}
