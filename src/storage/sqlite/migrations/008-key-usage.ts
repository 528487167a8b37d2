import type { Migration } from './migration.js';

/**
 * GetKeyLastUsage: the last successful cryptographic use of each key, and the date tracking
 * began (this migration's time), removed with the key.
 */
export const KEY_USAGE_MIGRATION: Migration = {
  version: 8,
  description: 'key last usage',
  sql: `
    CREATE TABLE key_last_usage (
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      operation TEXT NOT NULL,
      used_at INTEGER NOT NULL,
      event_id TEXT NOT NULL,
      request_id TEXT NOT NULL,
      PRIMARY KEY (region, key_id)
    ) WITHOUT ROWID;
    CREATE TABLE kms_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO kms_meta (name, value) VALUES ('usage_tracking_start', CAST(CAST(strftime('%s', 'now') AS INTEGER) * 1000 AS TEXT));
    CREATE TRIGGER key_last_usage_gone AFTER DELETE ON keys BEGIN
      DELETE FROM key_last_usage WHERE region = OLD.region AND key_id = OLD.key_id;
    END;
  `,
};
