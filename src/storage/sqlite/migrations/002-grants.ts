import type { Migration } from './migration.js';

/**
 * Grants and their token hashes. A key's grants go with the key: the trigger below removes
 * them when KeyRepository.deleteKey deletes the key row (no change to deleteKey needed).
 */
export const GRANTS_MIGRATION: Migration = {
  version: 2,
  description: 'grants',
  sql: `
    CREATE TABLE grants (
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      grant_id TEXT NOT NULL,
      account_id TEXT NOT NULL,
      issuing_principal TEXT NOT NULL,
      name TEXT,
      grantee_principal TEXT NOT NULL,
      retiring_principal TEXT,
      operations TEXT NOT NULL,
      constraints TEXT,
      creation_date INTEGER NOT NULL,
      fingerprint TEXT NOT NULL,
      PRIMARY KEY (region, key_id, grant_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX grants_named ON grants (region, key_id, fingerprint) WHERE name IS NOT NULL;
    CREATE INDEX grants_by_retiring ON grants (region, retiring_principal, grant_id)
      WHERE retiring_principal IS NOT NULL;

    CREATE TABLE grant_tokens (
      token_hash BLOB PRIMARY KEY,
      region TEXT NOT NULL,
      key_id TEXT NOT NULL,
      grant_id TEXT NOT NULL
    );
    CREATE INDEX grant_tokens_by_grant ON grant_tokens (region, key_id, grant_id);

    CREATE TRIGGER grants_delete_with_key AFTER DELETE ON keys
    BEGIN
      DELETE FROM grant_tokens WHERE region = OLD.region AND key_id = OLD.key_id;
      DELETE FROM grants WHERE region = OLD.region AND key_id = OLD.key_id;
    END;
  `,
};
