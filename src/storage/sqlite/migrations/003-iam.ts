import type { Migration } from '../migrations.js';

/** IAM identities: users, roles, identity policies, sessions (authorization issue). */
export const IAM_MIGRATION: Migration = {
  version: 3,
  description: 'iam identities',
  sql: `SELECT 1;`,
};
