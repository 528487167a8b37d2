import type { Migration } from './migration.js';

/**
 * Asymmetric and HMAC key material. A key version's EKT wraps whatever the HSM holds for it
 * (a 256-bit HBK, an HMAC key, or a PKCS#8 private key); asymmetric versions also keep their
 * DER SubjectPublicKeyInfo in clear, for GetPublicKey, Verify and Encrypt.
 */
export const KEY_MATERIAL_MIGRATION: Migration = {
  version: 5,
  description: 'asymmetric and HMAC key material',
  sql: `ALTER TABLE key_versions ADD COLUMN public_key BLOB;`,
};
