/**
 * The key backend behind the proxy: where external keys live and are used. Two
 * implementations: an encrypted software key file (software-backend.ts) and a PKCS#11
 * token (pkcs11-backend.ts). The proxy's HTTP layer knows only this interface.
 */

/** Key usages as GetKeyMetadata reports them (spec: uppercase, ENCRYPT/DECRYPT and others). */
export const XKS_KEY_USAGES = [
  'ENCRYPT',
  'DECRYPT',
  'WRAP',
  'UNWRAP',
  'SIGN',
  'VERIFY',
  'DERIVE',
] as const;
export type XksKeyUsage = (typeof XKS_KEY_USAGES)[number];

export type XksKeyStatus = 'ENABLED' | 'DISABLED';

export interface XksKeyMetadata {
  /** e.g. `AES_256`. */
  keySpec: string;
  keyUsage: XksKeyUsage[];
  keyStatus: XksKeyStatus;
}

export interface GcmResult {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
}

export type EkmHealth = 'ACTIVE' | 'DEGRADED' | 'UNAVAILABLE';

export interface EkmInstance {
  id: string;
  model: string;
  healthStatus: EkmHealth;
}

/**
 * Contract: `metadata` returns undefined for an unknown key id (never throws for that);
 * `encrypt`/`decrypt` are called only for a known, ENABLED key whose usage allows the
 * operation, with `aad` already the full AES-GCM AAD (the proxy builds it). `decrypt` throws
 * `AuthTagError` when the tag does not verify, anything else is a backend failure.
 */
export interface XksBackend {
  readonly kind: 'software' | 'pkcs11';
  /** Vendor name reported as ekmVendor. */
  readonly ekmVendor: string;
  metadata(keyId: string): Promise<XksKeyMetadata | undefined>;
  encrypt(keyId: string, plaintext: Buffer, aad: Buffer): Promise<GcmResult>;
  decrypt(keyId: string, ciphertext: Buffer, iv: Buffer, tag: Buffer, aad: Buffer): Promise<Buffer>;
  /** A deep check (a test encryption), for GetHealthStatus. */
  health(): Promise<EkmInstance[]>;
  close(): Promise<void>;
}

/** The GCM tag did not verify (wrong key, AAD, IV, ciphertext or tag). */
export class AuthTagError extends Error {
  constructor() {
    super('authentication tag mismatch');
    this.name = 'AuthTagError';
  }
}
