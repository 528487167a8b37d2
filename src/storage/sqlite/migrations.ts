/**
 * Versioned schema migrations for the SQLite adapter (keyhold.db; the audit log has its own
 * file and list, see audit-db.ts). Append only: a released migration
 * never changes; a new schema is a new entry. `user_version` records the applied level.
 */

import { GRANTS_MIGRATION } from './migrations/002-grants.js';
import { GRANTS_BY_GRANTEE_MIGRATION } from './migrations/013-grants-by-grantee.js';
import { KEY_USAGE_MIGRATION } from './migrations/008-key-usage.js';
import { IAM_MIGRATION } from './migrations/003-iam.js';
import { ROTATION_MIGRATION } from './migrations/004-rotation.js';
import { KEY_MATERIAL_MIGRATION } from './migrations/005-key-material.js';
import { MULTI_REGION_MIGRATION } from './migrations/006-multi-region.js';
import { IMPORT_MIGRATION } from './migrations/007-import.js';
import { CUSTOM_KEY_STORES_MIGRATION } from './migrations/009-custom-key-stores.js';
import { CHANGE_LOG_MIGRATION } from './migrations/010-change-log.js';
import { PRINCIPAL_IDS_MIGRATION } from './migrations/011-principal-ids.js';
import { IMPORT_MATERIALS_MIGRATION } from './migrations/012-import-materials.js';
import { POSTGRES_PARITY_MIGRATION } from './migrations/014-postgres-parity.js';
import type { Migration } from './migrations/migration.js';

export type { Migration };

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'keys, versions, aliases, tags, domain keys, access keys',
    sql: `
      CREATE TABLE keys (
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        arn TEXT NOT NULL,
        description TEXT NOT NULL,
        key_state TEXT NOT NULL,
        key_spec TEXT NOT NULL,
        key_usage TEXT NOT NULL,
        origin TEXT NOT NULL,
        key_manager TEXT NOT NULL,
        multi_region INTEGER NOT NULL,
        policy TEXT NOT NULL,
        creation_date INTEGER NOT NULL,
        deletion_date INTEGER,
        pending_window_days INTEGER,
        current_version_id TEXT,
        revision INTEGER NOT NULL,
        PRIMARY KEY (region, key_id)
      ) WITHOUT ROWID;
      CREATE INDEX keys_by_account ON keys (region, account_id, key_id);

      CREATE TABLE key_versions (
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        version_id TEXT NOT NULL,
        domain_key_id TEXT NOT NULL,
        ekt BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (region, key_id, version_id)
      ) WITHOUT ROWID;
      CREATE INDEX key_versions_by_domain_key ON key_versions (domain_key_id);

      CREATE TABLE aliases (
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        alias_name TEXT NOT NULL,
        target_key_id TEXT NOT NULL,
        creation_date INTEGER NOT NULL,
        last_updated_date INTEGER NOT NULL,
        PRIMARY KEY (region, account_id, alias_name)
      ) WITHOUT ROWID;
      CREATE INDEX aliases_by_target ON aliases (region, account_id, target_key_id);

      CREATE TABLE key_tags (
        region TEXT NOT NULL,
        key_id TEXT NOT NULL,
        tag_key TEXT NOT NULL,
        tag_value TEXT NOT NULL,
        PRIMARY KEY (region, key_id, tag_key)
      ) WITHOUT ROWID;

      CREATE TABLE domain_keys (
        id TEXT PRIMARY KEY,
        wrapped BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        active INTEGER NOT NULL
      );

      CREATE TABLE access_keys (
        access_key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        principal_arn TEXT NOT NULL,
        sealed_secret BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  GRANTS_MIGRATION,
  IAM_MIGRATION,
  ROTATION_MIGRATION,
  KEY_MATERIAL_MIGRATION,
  MULTI_REGION_MIGRATION,
  IMPORT_MIGRATION,
  KEY_USAGE_MIGRATION,
  CUSTOM_KEY_STORES_MIGRATION,
  CHANGE_LOG_MIGRATION,
  PRINCIPAL_IDS_MIGRATION,
  IMPORT_MATERIALS_MIGRATION,
  GRANTS_BY_GRANTEE_MIGRATION,
  POSTGRES_PARITY_MIGRATION,
];
