import type { Migration } from './migration.js';

/**
 * The invalidation channel of SQLite mode: every write that another process may have
 * cached appends a row in its own transaction. AUTOINCREMENT: sequence numbers are never
 * reused, even after old rows are pruned, so a reader can tell a gap (it missed rows) from
 * the end of the log.
 */
export const CHANGE_LOG_MIGRATION: Migration = {
  version: 10,
  description: 'change log (cross-process cache invalidation)',
  sql: `
    CREATE TABLE change_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      payload TEXT NOT NULL,
      at INTEGER NOT NULL
    );
  `,
};
