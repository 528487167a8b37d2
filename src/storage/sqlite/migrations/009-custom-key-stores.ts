import type { Migration } from './migration.js';

/**
 * Custom key stores (CloudHSM-type and external) and which store holds which KMS key.
 * Type-specific settings are one JSON column (non-secret); the store's secret is sealed.
 * A key's binding goes with the key (trigger), like its tags.
 */
export const CUSTOM_KEY_STORES_MIGRATION: Migration = {
  version: 9,
  description: 'custom key stores',
  sql: `
    CREATE TABLE custom_key_stores (
      region TEXT NOT NULL,
      store_id TEXT NOT NULL,
      account_id TEXT NOT NULL,
      name TEXT NOT NULL,
      store_type TEXT NOT NULL,
      connection_state TEXT NOT NULL,
      connection_error_code TEXT,
      creation_date INTEGER NOT NULL,
      settings TEXT NOT NULL,
      sealed_secret BLOB NOT NULL,
      sealed_pending_secret BLOB,
      revision INTEGER NOT NULL,
      PRIMARY KEY (region, store_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX custom_key_stores_by_name ON custom_key_stores (region, account_id, name);
    CREATE INDEX custom_key_stores_by_account ON custom_key_stores (region, account_id, store_id);

    CREATE TABLE custom_key_store_keys (
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      store_id TEXT NOT NULL,
      backing_key_id TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (region, key_id)
    ) WITHOUT ROWID;
    CREATE INDEX custom_key_store_keys_by_store ON custom_key_store_keys (region, store_id, backing_key_id);
    CREATE TRIGGER custom_key_store_keys_gone AFTER DELETE ON keys BEGIN
      DELETE FROM custom_key_store_keys WHERE region = OLD.region AND key_id = OLD.key_id;
    END;
  `,
};
