/**
 * Key spec × usage × algorithms, described once as a table (not branches).
 * This build creates SYMMETRIC_DEFAULT keys; the other specs AWS documents are listed so
 * that CreateKey can refuse them by name (UnsupportedOperationException) until the key
 * types issue adds their material and operations.
 */
export interface KeySpecInfo {
  usages: readonly string[];
  encryptionAlgorithms?: readonly string[];
  signingAlgorithms?: readonly string[];
  macAlgorithms?: readonly string[];
  keyAgreementAlgorithms?: readonly string[];
  /** Whether this build can create keys of this spec. */
  supported: boolean;
}

export const KEY_SPECS: Readonly<Record<string, KeySpecInfo>> = {
  SYMMETRIC_DEFAULT: {
    usages: ['ENCRYPT_DECRYPT'],
    encryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    supported: true,
  },
};

/** The usage a spec gets when CreateKey names none (AWS: ENCRYPT_DECRYPT, the model default). */
export const DEFAULT_KEY_USAGE = 'ENCRYPT_DECRYPT';

export function keySpecInfo(spec: string): KeySpecInfo | undefined {
  return KEY_SPECS[spec];
}

/** Key type as UpdateAlias compares it: symmetric encryption, HMAC, or asymmetric. */
export function keyType(spec: string): 'SYMMETRIC' | 'HMAC' | 'ASYMMETRIC' {
  if (spec === 'SYMMETRIC_DEFAULT') return 'SYMMETRIC';
  return spec.startsWith('HMAC_') ? 'HMAC' : 'ASYMMETRIC';
}
