import type { Migration } from '../migrations.js';

/** Grants (authorization issue). */
export const GRANTS_MIGRATION: Migration = {
  version: 2,
  description: 'grants',
  sql: `SELECT 1;`,
};
