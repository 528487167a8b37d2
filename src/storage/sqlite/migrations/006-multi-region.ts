import type { Migration } from './migration.js';

/**
 * Multi-Region keys: one row per member of a set of related multi-Region keys (same `mrk-`
 * key id and account, one key per Region), naming the primary. The key rows themselves stay
 * in `keys`; the trigger drops a member when KeyRepository.deleteKey deletes its key.
 */
export const MULTI_REGION_MIGRATION: Migration = {
  version: 6,
  description: 'multi-Region keys',
  sql: `
    CREATE TABLE mrk_replicas (
      account_id TEXT NOT NULL,
      key_id TEXT NOT NULL,
      region TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('PRIMARY', 'REPLICA')),
      PRIMARY KEY (account_id, key_id, region)
    ) WITHOUT ROWID;

    CREATE TRIGGER mrk_replicas_delete_with_key AFTER DELETE ON keys
    BEGIN
      DELETE FROM mrk_replicas
        WHERE account_id = OLD.account_id AND key_id = OLD.key_id AND region = OLD.region;
    END;
  `,
};
