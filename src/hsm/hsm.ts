/**
 * The HSM boundary (contract only, no I/O). Plaintext backing keys, domain keys and the
 * root key live behind it; callers hand in EKTs and get ciphertext or plaintext back.
 * The software HSM implements it; a PKCS#11 provider implements it for CloudHSM-type
 * key stores.
 */
import type { BlobParts } from './ciphertext-blob.js';
import type { EncryptionContext } from './encryption-context.js';

/** What an EKT is cryptographically bound to (its AAD). */
export interface EktBinding {
  keyArn: string;
  versionId: string;
}

/** An HSM backing key as storage sees it: wrapped under a domain key. */
export interface WrappedBackingKey {
  domainKeyId: string;
  ekt: Buffer;
}

/** One backing-key version of a KMS key, ready for the HSM to use. */
export interface BackingKeyHandle extends EktBinding, WrappedBackingKey {
  keyId: string;
}

export interface Hsm {
  /** Generate a new 256-bit HBK inside the boundary and return only its EKT. */
  createBackingKey(binding: EktBinding): WrappedBackingKey;
  /** Encrypt up to 4096 bytes (or a data key) into a self-describing blob. */
  encrypt(key: BackingKeyHandle, plaintext: Buffer, context: EncryptionContext | undefined): Buffer;
  /** Decrypt a parsed blob; any failure is InvalidCiphertextException. */
  decrypt(key: BackingKeyHandle, blob: BlobParts, context: EncryptionContext | undefined): Buffer;
  /** Rewrap an EKT under the active domain key (domain-key rotation). */
  rewrap(binding: EktBinding, wrapped: WrappedBackingKey): WrappedBackingKey;
  /** Seal a small secret (access key secret, PIN) for storage at rest. */
  sealSecret(label: string, secret: Buffer): Buffer;
  openSecret(label: string, sealed: Buffer): Buffer;
  random(n: number): Buffer;
}
