/**
 * The indexes and constraints that only the PostgreSQL schema had (test/unit/storage/
 * schema-parity.test.ts now checks both schemas agree):
 *
 * - `domain_keys_one_active`: at most one active domain key, enforced by the database.
 *   A database that already holds several active rows (no code path writes that: rotation
 *   deactivates all before it inserts, in one transaction; only a hand edit or a bug could)
 *   keeps the newest (latest created_at, then greatest id) active and the others become
 *   inactive. Nothing is lost: an inactive domain key still unwraps its EKTs, and the
 *   rotation job rewraps them under the active key before it drops the old one.
 * - `keys_pending_deletion`: the deletion job's scan of keys past their deletion date.
 * - `aliases_by_target_key`, `access_keys_by_account`, `sts_sessions_by_role`: lookups by
 *   target key, by account and by role (revocation when a role is deleted).
 * - `aliases_by_target` and `access_keys_by_principal` get PostgreSQL's columns (the page
 *   order, alias_name / access_key_id, as the last column).
 *
 * Typed where it is listed (migrations.ts), so that this file imports nothing.
 */
export const POSTGRES_PARITY_MIGRATION = {
  version: 14,
  description: 'indexes and constraints of the PostgreSQL schema (one active domain key)',
  sql: `
    UPDATE domain_keys SET active = 0
      WHERE active = 1 AND id <> (
        SELECT id FROM domain_keys WHERE active = 1 ORDER BY created_at DESC, id DESC LIMIT 1);
    CREATE UNIQUE INDEX domain_keys_one_active ON domain_keys (active) WHERE active = 1;

    CREATE INDEX keys_pending_deletion ON keys (deletion_date) WHERE key_state = 'PendingDeletion';

    DROP INDEX aliases_by_target;
    CREATE INDEX aliases_by_target ON aliases (region, account_id, target_key_id, alias_name);
    CREATE INDEX aliases_by_target_key ON aliases (region, target_key_id);

    CREATE INDEX access_keys_by_account ON access_keys (account_id, access_key_id);
    DROP INDEX access_keys_by_principal;
    CREATE INDEX access_keys_by_principal ON access_keys (principal_arn, access_key_id);

    CREATE INDEX sts_sessions_by_role ON sts_sessions (role_arn);
  `,
} as const;
