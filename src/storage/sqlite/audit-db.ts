/**
 * The audit log's own SQLite file (`audit.db`): WAL, synchronous=FULL, its own versioned
 * migrations. Kept apart from keyhold.db so that its group commits (one fsync per batch)
 * never hold the lock the key tables need.
 */
import type BetterSqlite3 from 'better-sqlite3';
import Database from './driver.js';
import { ensurePrivateDbFile } from './private-file.js';
import { AUDIT_SCHEMA_SQL } from './sqlite-audit.js';
import type { Migration } from './migrations.js';

export const AUDIT_MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'audit events and chain head', sql: AUDIT_SCHEMA_SQL },
];

export function openAuditDb(
  path: string,
  options: { readonly?: boolean } = {},
): BetterSqlite3.Database {
  if (options.readonly !== true) ensurePrivateDbFile(path);
  const db = new Database(path, {
    readonly: options.readonly === true,
    fileMustExist: options.readonly === true,
  });
  if (options.readonly === true) return db;
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of AUDIT_MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return db;
}
