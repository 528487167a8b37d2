import type { Migration } from './migration.js';

/**
 * BYOK import: import tokens (sealed RSA wrapping private key, single use, 24 h) and the
 * imported-material state of EXTERNAL keys. Both go with the key: the trigger removes them
 * when KeyRepository.deleteKey deletes the key row.
 */
export const IMPORT_MIGRATION: Migration = {
  version: 7,
  description: 'key material import',
  sql: `
    CREATE TABLE import_tokens (
      token_id TEXT PRIMARY KEY,
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      wrapping_algorithm TEXT NOT NULL,
      wrapping_key_spec TEXT NOT NULL,
      sealed_private_key BLOB NOT NULL,
      valid_to INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX import_tokens_by_key ON import_tokens (region, key_id);
    CREATE INDEX import_tokens_by_valid_to ON import_tokens (valid_to);

    CREATE TABLE key_imports (
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      material_id TEXT NOT NULL,
      imported INTEGER NOT NULL,
      expiration_model TEXT,
      valid_to INTEGER,
      PRIMARY KEY (region, key_id)
    ) WITHOUT ROWID;
    CREATE INDEX key_imports_expiry ON key_imports (valid_to) WHERE imported = 1;

    CREATE TRIGGER import_delete_with_key AFTER DELETE ON keys
    BEGIN
      DELETE FROM import_tokens WHERE region = OLD.region AND key_id = OLD.key_id;
      DELETE FROM key_imports WHERE region = OLD.region AND key_id = OLD.key_id;
    END;
  `,
};
