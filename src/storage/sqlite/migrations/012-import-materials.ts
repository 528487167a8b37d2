import type { Migration } from './migration.js';

/**
 * Several imported key materials per EXTERNAL key (ImportType NEW_KEY_MATERIAL, then
 * RotateKeyOnDemand): key_imports (one row per key) becomes key_import_materials (one row per
 * material), with each material's pending-rotation flag, description and association date.
 * Existing rows keep their material as the key's first, permanently associated one.
 */
export const IMPORT_MATERIALS_MIGRATION: Migration = {
  version: 12,
  description: 'several imported key materials per key',
  sql: `
    CREATE TABLE key_import_materials (
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      material_id TEXT NOT NULL,
      pending_rotation INTEGER NOT NULL,
      imported INTEGER NOT NULL,
      expiration_model TEXT,
      valid_to INTEGER,
      description TEXT,
      associated_at INTEGER NOT NULL,
      PRIMARY KEY (region, key_id, material_id)
    ) WITHOUT ROWID;
    CREATE INDEX key_import_materials_expiry ON key_import_materials (valid_to) WHERE imported = 1;
    INSERT INTO key_import_materials (region, key_id, material_id, pending_rotation, imported,
        expiration_model, valid_to, description, associated_at)
      SELECT region, key_id, material_id, 0, imported, expiration_model, valid_to, NULL, 0
      FROM key_imports;
    DROP TABLE key_imports;

    DROP TRIGGER import_delete_with_key;
    CREATE TRIGGER import_delete_with_key AFTER DELETE ON keys
    BEGIN
      DELETE FROM import_tokens WHERE region = OLD.region AND key_id = OLD.key_id;
      DELETE FROM key_import_materials WHERE region = OLD.region AND key_id = OLD.key_id;
    END;
  `,
};
