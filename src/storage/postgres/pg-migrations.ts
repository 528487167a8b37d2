/**
 * Versioned schema migrations of the PostgreSQL adapter, recorded in `schema_migrations`.
 * Append only: a released migration never changes. They run under a transaction-level
 * advisory lock, so several nodes starting at once apply each migration exactly once.
 *
 * Columns mirror the SQLite schema (times as epoch milliseconds in BIGINT, blobs as
 * BYTEA). Text columns that order pages use COLLATE "C": byte order, as SQLite's, so
 * keyset pagination does not depend on the server's locale.
 */
import type pg from 'pg';
import { bindablePrincipalsOf, encodeBindings, isBindableArn } from '../principal-bindings.js';

export interface PgMigration {
  version: number;
  description: string;
  sql: string;
  /** A data step after the SQL, in the same transaction. */
  run?: (client: pg.PoolClient) => Promise<void>;
}

const T = 'TEXT COLLATE "C"';

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description:
      'keys, versions, aliases, tags, domain keys, access keys, grants, IAM, rotation, multi-Region, import, key usage',
    sql: `
      CREATE TABLE keys (
        region ${T} NOT NULL, key_id ${T} NOT NULL, account_id ${T} NOT NULL, arn ${T} NOT NULL,
        description TEXT NOT NULL, key_state ${T} NOT NULL, key_spec ${T} NOT NULL,
        key_usage ${T} NOT NULL, origin ${T} NOT NULL, key_manager ${T} NOT NULL,
        multi_region BOOLEAN NOT NULL, policy TEXT NOT NULL, creation_date BIGINT NOT NULL,
        deletion_date BIGINT, pending_window_days INTEGER, current_version_id ${T},
        revision BIGINT NOT NULL,
        PRIMARY KEY (region, key_id)
      );
      CREATE INDEX keys_by_account ON keys (region, account_id, key_id);
      CREATE INDEX keys_pending_deletion ON keys (deletion_date) WHERE key_state = 'PendingDeletion';

      CREATE TABLE key_versions (
        region ${T} NOT NULL, key_id ${T} NOT NULL, version_id ${T} NOT NULL,
        domain_key_id ${T} NOT NULL, ekt BYTEA NOT NULL, created_at BIGINT NOT NULL,
        public_key BYTEA,
        PRIMARY KEY (region, key_id, version_id)
      );
      CREATE INDEX key_versions_by_domain_key ON key_versions (domain_key_id);

      CREATE TABLE aliases (
        region ${T} NOT NULL, account_id ${T} NOT NULL, alias_name ${T} NOT NULL,
        target_key_id ${T} NOT NULL, creation_date BIGINT NOT NULL, last_updated_date BIGINT NOT NULL,
        PRIMARY KEY (region, account_id, alias_name)
      );
      CREATE INDEX aliases_by_target ON aliases (region, account_id, target_key_id, alias_name);
      CREATE INDEX aliases_by_target_key ON aliases (region, target_key_id);

      CREATE TABLE key_tags (
        region ${T} NOT NULL, key_id ${T} NOT NULL, tag_key ${T} NOT NULL, tag_value TEXT NOT NULL,
        PRIMARY KEY (region, key_id, tag_key)
      );

      CREATE TABLE domain_keys (
        id ${T} PRIMARY KEY, wrapped BYTEA NOT NULL, created_at BIGINT NOT NULL, active BOOLEAN NOT NULL
      );
      -- At most one active domain key, enforced by the database (several nodes may rotate).
      CREATE UNIQUE INDEX domain_keys_one_active ON domain_keys (active) WHERE active;

      CREATE TABLE access_keys (
        access_key_id ${T} PRIMARY KEY, account_id ${T} NOT NULL, principal_arn ${T} NOT NULL,
        sealed_secret BYTEA NOT NULL, created_at BIGINT NOT NULL
      );
      CREATE INDEX access_keys_by_account ON access_keys (account_id, access_key_id);
      CREATE INDEX access_keys_by_principal ON access_keys (principal_arn, access_key_id);

      CREATE TABLE grants (
        region ${T} NOT NULL, key_id ${T} NOT NULL, grant_id ${T} NOT NULL, account_id ${T} NOT NULL,
        issuing_principal ${T} NOT NULL, name ${T}, grantee_principal ${T} NOT NULL,
        retiring_principal ${T}, operations TEXT NOT NULL, constraints TEXT,
        creation_date BIGINT NOT NULL, fingerprint ${T} NOT NULL,
        PRIMARY KEY (region, key_id, grant_id)
      );
      CREATE UNIQUE INDEX grants_named ON grants (region, key_id, fingerprint) WHERE name IS NOT NULL;
      CREATE INDEX grants_by_retiring ON grants (region, retiring_principal, grant_id)
        WHERE retiring_principal IS NOT NULL;
      CREATE TABLE grant_tokens (
        token_hash BYTEA PRIMARY KEY, region ${T} NOT NULL, key_id ${T} NOT NULL, grant_id ${T} NOT NULL
      );
      CREATE INDEX grant_tokens_by_grant ON grant_tokens (region, key_id, grant_id);

      CREATE TABLE iam_accounts (account_id ${T} PRIMARY KEY, created_at BIGINT NOT NULL);
      CREATE TABLE iam_principals (
        arn ${T} PRIMARY KEY, account_id ${T} NOT NULL,
        kind ${T} NOT NULL CHECK (kind IN ('user', 'role')),
        name ${T} NOT NULL, path ${T} NOT NULL, unique_id ${T} NOT NULL UNIQUE,
        trust_policy TEXT, max_session_duration INTEGER, description TEXT, created_at BIGINT NOT NULL
      );
      -- IAM names are unique per account and kind, case-insensitively (ASCII, as SQLite NOCASE).
      CREATE UNIQUE INDEX iam_principals_by_name ON iam_principals (account_id, kind, lower(name));
      CREATE TABLE iam_policies (
        principal_arn ${T} NOT NULL, policy_name ${T} NOT NULL, document TEXT NOT NULL,
        PRIMARY KEY (principal_arn, policy_name)
      );
      CREATE TABLE sts_sessions (
        access_key_id ${T} PRIMARY KEY, account_id ${T} NOT NULL, sealed_secret BYTEA NOT NULL,
        token_hash BYTEA NOT NULL, role_arn ${T} NOT NULL, role_id ${T} NOT NULL,
        session_name ${T} NOT NULL, assumed_role_arn ${T} NOT NULL, expiration BIGINT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX sts_sessions_by_expiration ON sts_sessions (expiration);
      CREATE INDEX sts_sessions_by_role ON sts_sessions (role_arn);

      CREATE TABLE key_rotation_settings (
        region ${T} NOT NULL, key_id ${T} NOT NULL, enabled BOOLEAN NOT NULL,
        period_days INTEGER NOT NULL, next_rotation_date BIGINT,
        PRIMARY KEY (region, key_id)
      );
      CREATE INDEX key_rotation_due ON key_rotation_settings (next_rotation_date) WHERE enabled;
      CREATE TABLE key_rotations (
        region ${T} NOT NULL, key_id ${T} NOT NULL, version_id ${T} NOT NULL,
        rotation_date BIGINT NOT NULL,
        rotation_type ${T} NOT NULL CHECK (rotation_type IN ('AUTOMATIC', 'ON_DEMAND')),
        PRIMARY KEY (region, key_id, version_id)
      );

      CREATE TABLE mrk_replicas (
        account_id ${T} NOT NULL, key_id ${T} NOT NULL, region ${T} NOT NULL,
        role ${T} NOT NULL CHECK (role IN ('PRIMARY', 'REPLICA')),
        PRIMARY KEY (account_id, key_id, region)
      );

      CREATE TABLE import_tokens (
        token_id ${T} PRIMARY KEY, region ${T} NOT NULL, key_id ${T} NOT NULL,
        wrapping_algorithm ${T} NOT NULL, wrapping_key_spec ${T} NOT NULL,
        sealed_private_key BYTEA NOT NULL, valid_to BIGINT NOT NULL
      );
      CREATE INDEX import_tokens_by_key ON import_tokens (region, key_id);
      CREATE INDEX import_tokens_by_valid_to ON import_tokens (valid_to);
      CREATE TABLE key_imports (
        region ${T} NOT NULL, key_id ${T} NOT NULL, material_id ${T} NOT NULL,
        imported BOOLEAN NOT NULL, expiration_model ${T}, valid_to BIGINT,
        PRIMARY KEY (region, key_id)
      );
      CREATE INDEX key_imports_expiry ON key_imports (valid_to) WHERE imported;

      CREATE TABLE key_last_usage (
        region ${T} NOT NULL, key_id ${T} NOT NULL, operation ${T} NOT NULL, used_at BIGINT NOT NULL,
        event_id ${T} NOT NULL, request_id ${T} NOT NULL,
        PRIMARY KEY (region, key_id)
      );
      CREATE TABLE kms_meta (name ${T} PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO kms_meta (name, value)
        VALUES ('usage_tracking_start', (floor(extract(epoch from now())) * 1000)::bigint::text);
    `,
  },
  {
    version: 2,
    description: 'job leases and per-node audit chains',
    sql: `
      -- One row per background job; the owner runs it until expires_at (database time).
      CREATE TABLE job_leases (
        name ${T} PRIMARY KEY, owner ${T} NOT NULL, expires_at TIMESTAMPTZ NOT NULL,
        runs BIGINT NOT NULL DEFAULT 0
      );
      -- One hash chain per writer (chain_id = node id), each verified on its own.
      CREATE TABLE audit_events (
        chain_id ${T} NOT NULL, seq BIGINT NOT NULL, event_id ${T} NOT NULL UNIQUE,
        event_time ${T} NOT NULL, event_name ${T} NOT NULL, principal_arn ${T},
        key_arns TEXT NOT NULL, body TEXT NOT NULL, chain_hash BYTEA NOT NULL,
        PRIMARY KEY (chain_id, seq)
      );
      CREATE INDEX audit_events_event_time ON audit_events (event_time);
      CREATE INDEX audit_events_principal_arn ON audit_events (principal_arn);
      CREATE INDEX audit_events_event_name ON audit_events (event_name);
      CREATE TABLE audit_heads (
        chain_id ${T} PRIMARY KEY, seq BIGINT NOT NULL, chain_hash BYTEA NOT NULL, mac BYTEA NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: 'custom key stores',
    sql: `
      CREATE TABLE custom_key_stores (
        region ${T} NOT NULL, store_id ${T} NOT NULL, account_id ${T} NOT NULL, name ${T} NOT NULL,
        store_type ${T} NOT NULL, connection_state ${T} NOT NULL, connection_error_code ${T},
        creation_date BIGINT NOT NULL, settings TEXT NOT NULL, sealed_secret BYTEA NOT NULL,
        sealed_pending_secret BYTEA, revision BIGINT NOT NULL,
        PRIMARY KEY (region, store_id)
      );
      CREATE UNIQUE INDEX custom_key_stores_by_name ON custom_key_stores (region, account_id, name);
      CREATE INDEX custom_key_stores_by_account ON custom_key_stores (region, account_id, store_id);
      CREATE TABLE custom_key_store_keys (
        region ${T} NOT NULL, key_id ${T} NOT NULL, store_id ${T} NOT NULL,
        backing_key_id ${T} NOT NULL, created_at BIGINT NOT NULL,
        PRIMARY KEY (region, key_id)
      );
      CREATE INDEX custom_key_store_keys_by_store ON custom_key_store_keys (region, store_id, backing_key_id);
    `,
  },
  {
    version: 4,
    description: 'principals bound to unique ids (key policies, trust policies, grants)',
    sql: `
      ALTER TABLE keys ADD COLUMN policy_principals TEXT;
      ALTER TABLE iam_principals ADD COLUMN trust_policy_principals TEXT;
      ALTER TABLE grants ADD COLUMN grantee_principal_id TEXT;
      ALTER TABLE grants ADD COLUMN retiring_principal_id TEXT;
    `,
    run: bindExistingPrincipals,
  },
  {
    version: 5,
    description: 'several imported key materials per key',
    sql: `
      -- One row per imported material (NEW_KEY_MATERIAL + RotateKeyOnDemand), not per key.
      CREATE TABLE key_import_materials (
        region ${T} NOT NULL, key_id ${T} NOT NULL, material_id ${T} NOT NULL,
        pending_rotation BOOLEAN NOT NULL, imported BOOLEAN NOT NULL, expiration_model ${T},
        valid_to BIGINT, description ${T}, associated_at BIGINT NOT NULL,
        PRIMARY KEY (region, key_id, material_id)
      );
      CREATE INDEX key_import_materials_expiry ON key_import_materials (valid_to) WHERE imported;
      INSERT INTO key_import_materials (region, key_id, material_id, pending_rotation, imported,
          expiration_model, valid_to, description, associated_at)
        SELECT region, key_id, material_id, false, imported, expiration_model, valid_to, NULL, 0
        FROM key_imports;
      DROP TABLE key_imports;
    `,
  },
  {
    version: 6,
    description: 'grants indexed by grantee (ARN and bound unique id)',
    sql: `
      -- Authorization reads only the grants that can apply to the caller (as SQLite 013).
      CREATE INDEX grants_by_grantee ON grants (region, key_id, grantee_principal);
      CREATE INDEX grants_by_grantee_id ON grants (region, key_id, grantee_principal_id)
        WHERE grantee_principal_id IS NOT NULL;
    `,
  },
];

/** Bind existing documents to the principals that exist now (as SQLite migration 011). */
async function bindExistingPrincipals(c: pg.PoolClient): Promise<void> {
  const ids = new Map<string, string>();
  for (const r of (await c.query('SELECT arn, unique_id FROM iam_principals')).rows as Row[])
    ids.set(String(r.arn), String(r.unique_id));
  const lookup = (arn: unknown) =>
    typeof arn === 'string' && isBindableArn(arn) ? (ids.get(arn) ?? null) : null;
  const bind = (text: unknown) => {
    const out: Record<string, string> = {};
    for (const arn of bindablePrincipalsOf(String(text))) {
      const id = lookup(arn);
      if (id !== null) out[arn] = id;
    }
    return encodeBindings(out);
  };
  for (const k of (await c.query('SELECT region, key_id, policy FROM keys')).rows as Row[])
    await c.query('UPDATE keys SET policy_principals = $1 WHERE region = $2 AND key_id = $3', [
      bind(k.policy),
      k.region,
      k.key_id,
    ]);
  const roles = await c.query("SELECT arn, trust_policy FROM iam_principals WHERE kind = 'role'");
  for (const r of roles.rows as Row[])
    await c.query('UPDATE iam_principals SET trust_policy_principals = $1 WHERE arn = $2', [
      bind(r.trust_policy),
      r.arn,
    ]);
  const grants = await c.query(
    'SELECT region, key_id, grant_id, grantee_principal, retiring_principal FROM grants',
  );
  for (const g of grants.rows as Row[])
    await c.query(
      'UPDATE grants SET grantee_principal_id = $1, retiring_principal_id = $2 WHERE region = $3 AND key_id = $4 AND grant_id = $5',
      [lookup(g.grantee_principal), lookup(g.retiring_principal), g.region, g.key_id, g.grant_id],
    );
}

type Row = Record<string, unknown>;

/** An arbitrary constant: the advisory lock that serialises migrations across nodes. */
const MIGRATION_LOCK = 7_300_417_001;

/** Apply pending migrations; safe when several nodes start at once. */
export async function migratePg(
  client: pg.PoolClient,
  schema: string | undefined,
): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version INTEGER PRIMARY KEY, description TEXT NOT NULL,
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    const r = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    const current = r.rows[0]?.v ?? 0;
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await m.run?.(client);
      await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [
        m.version,
        m.description,
      ]);
    }
    await client.query('COMMIT');
    return PG_MIGRATIONS.at(-1)?.version ?? 0;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
