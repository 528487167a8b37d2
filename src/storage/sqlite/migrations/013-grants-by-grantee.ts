/**
 * The grants of a key that can apply to one caller, found by index (the authorization hot
 * path reads only those, not every grant of the key: latency stays flat with 100k grants).
 * Typed where it is listed (migrations.ts), so that this file imports nothing.
 */
export const GRANTS_BY_GRANTEE_MIGRATION = {
  version: 13,
  description: 'grants indexed by grantee (ARN and bound unique id)',
  sql: `
    CREATE INDEX grants_by_grantee ON grants (region, key_id, grantee_principal);
    CREATE INDEX grants_by_grantee_id ON grants (region, key_id, grantee_principal_id)
      WHERE grantee_principal_id IS NOT NULL;
  `,
} as const;
