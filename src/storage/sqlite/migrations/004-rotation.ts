import type { Migration } from './migration.js';

/**
 * Key rotation: per-key automatic-rotation settings and the rotation history (one row per
 * completed rotation, naming the backing-key version it made current). Both go with the
 * key: the trigger removes them when KeyRepository.deleteKey deletes the key row.
 */
export const ROTATION_MIGRATION: Migration = {
  version: 4,
  description: 'key rotation',
  sql: `
    CREATE TABLE key_rotation_settings (
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      enabled INTEGER NOT NULL,
      period_days INTEGER NOT NULL,
      next_rotation_date INTEGER,
      PRIMARY KEY (region, key_id)
    ) WITHOUT ROWID;
    CREATE INDEX key_rotation_due ON key_rotation_settings (next_rotation_date)
      WHERE enabled = 1;

    CREATE TABLE key_rotations (
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      version_id TEXT NOT NULL,
      rotation_date INTEGER NOT NULL,
      rotation_type TEXT NOT NULL CHECK (rotation_type IN ('AUTOMATIC', 'ON_DEMAND')),
      PRIMARY KEY (region, key_id, version_id)
    ) WITHOUT ROWID;

    CREATE TRIGGER rotation_delete_with_key AFTER DELETE ON keys
    BEGIN
      DELETE FROM key_rotation_settings WHERE region = OLD.region AND key_id = OLD.key_id;
      DELETE FROM key_rotations WHERE region = OLD.region AND key_id = OLD.key_id;
    END;
  `,
};
