import type { Migration } from './migration.js';

/**
 * IAM identities: accounts, users and roles (one table, `kind` tells them apart), inline
 * identity policies keyed by the owner's ARN (so the authorizer's lookup is one primary-key
 * range scan), and STS sessions. Long-term access keys stay in `access_keys`.
 */
export const IAM_MIGRATION: Migration = {
  version: 3,
  description: 'iam identities',
  sql: `
    CREATE TABLE iam_accounts (
      account_id TEXT PRIMARY KEY,
      created_at INTEGER NOT NULL
    );

    CREATE TABLE iam_principals (
      arn TEXT PRIMARY KEY,
      account_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('user', 'role')),
      name TEXT NOT NULL,
      path TEXT NOT NULL,
      unique_id TEXT NOT NULL UNIQUE,
      trust_policy TEXT,
      max_session_duration INTEGER,
      description TEXT,
      created_at INTEGER NOT NULL
    );
    -- IAM names are unique per account and kind, case-insensitively.
    CREATE UNIQUE INDEX iam_principals_by_name ON iam_principals (account_id, kind, name COLLATE NOCASE);

    CREATE TABLE iam_policies (
      principal_arn TEXT NOT NULL,
      policy_name TEXT NOT NULL,
      document TEXT NOT NULL,
      PRIMARY KEY (principal_arn, policy_name)
    ) WITHOUT ROWID;

    CREATE TABLE sts_sessions (
      access_key_id TEXT PRIMARY KEY,
      account_id TEXT NOT NULL,
      sealed_secret BLOB NOT NULL,
      token_hash BLOB NOT NULL,
      role_arn TEXT NOT NULL,
      role_id TEXT NOT NULL,
      session_name TEXT NOT NULL,
      assumed_role_arn TEXT NOT NULL,
      expiration INTEGER NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE INDEX sts_sessions_by_expiration ON sts_sessions (expiration);

    CREATE INDEX access_keys_by_principal ON access_keys (principal_arn);
  `,
};
