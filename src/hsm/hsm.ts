/**
 * The HSM boundary (contract only, no I/O). Plaintext backing keys, domain keys and the
 * root key live behind it; callers hand in EKTs and get ciphertext or plaintext back.
 * The software HSM implements it; a PKCS#11 provider implements it for CloudHSM-type
 * key stores.
 */
import type { SymmetricBlob } from './ciphertext-blob.js';
import type { EncryptionContext } from './encryption-context.js';
import type { ImportedMaterialKind, ImportWrappingAlgorithm } from './key-import.js';
import type { KeyPairParams } from './key-pair-params.js';

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

/** A domain key as storage keeps it: wrapped under the root key (domain-key-wrap purpose key). */
export interface WrappedDomainKey {
  id: string;
  wrapped: Buffer;
  createdAt: Date;
  active: boolean;
}

/** Which domain keys the HSM holds (ids only; the keys never leave it). */
export interface DomainKeyStatus {
  /** Unset until a list with an active domain key was loaded. */
  activeId: string | undefined;
  activeCreatedAt: Date | undefined;
  ids: string[];
}

// How to generate an asymmetric key pair: in a leaf of its own, which key-import.ts names too.
export type { KeyPairParams } from './key-pair-params.js';

/** A KMS key's asymmetric key pair: the PKCS#8 private key sealed as an EKT, the public key in clear. */
export interface WrappedKeyPair extends WrappedBackingKey {
  /** DER SubjectPublicKeyInfo (RFC 5280). */
  publicKey: Buffer;
}

/** A data key pair (GenerateDataKeyPair): handed to the caller, so it leaves the HSM. */
export interface PlainKeyPair {
  /** DER PKCS#8 PrivateKeyInfo (RFC 5958); the caller zeroes it after use. */
  privateKey: Buffer;
  /** DER SubjectPublicKeyInfo (RFC 5280). */
  publicKey: Buffer;
}

/**
 * A signature scheme: family and hash (RSA-PSS salt = hash length, MGF1 with the same hash).
 * ED25519_PH is HashEdDSA (RFC 8032 Ed25519ph: SHA-512 prehash, empty context); ML_DSA is
 * FIPS 204 ML-DSA with the empty context (its hash is SHAKE256).
 */
export type SignatureScheme =
  | { family: 'RSA_PSS' | 'RSA_PKCS1' | 'ECDSA'; hash: 'sha256' | 'sha384' | 'sha512' }
  | { family: 'ED25519' | 'ED25519_PH'; hash: 'sha512' }
  | { family: 'ML_DSA'; hash: 'shake256' };

/**
 * RAW: the HSM hashes the message; DIGEST: the message is already the hash (Ed25519ph still
 * applies its SHA-512 prehash to it, as AWS documents); EXTERNAL_MU: the message is ML-DSA's
 * 64-byte μ (FIPS 204 §6.2).
 */
export type SignInput = 'RAW' | 'DIGEST' | 'EXTERNAL_MU';

export type MacHash = 'sha224' | 'sha256' | 'sha384' | 'sha512';

export interface Hsm {
  // ---- domain keys (persisted outside hsm/: kms/crypto/domain-keys.ts) ----

  /**
   * Hold exactly these domain keys (the stored list): new ones are unwrapped, ones no longer
   * listed are zeroed. RootKeyMismatchError when the root key does not unwrap one.
   */
  loadDomainKeys(records: readonly WrappedDomainKey[]): void;
  /**
   * Generate a new domain key; returns it wrapped (marked active) for storage. It becomes the
   * active key once a loaded list includes it.
   */
  rotateDomainKey(now: Date): WrappedDomainKey;
  /** Forget an old (non-active) domain key once storage no longer has it. */
  dropDomainKey(id: string): void;
  domainKeyStatus(): DomainKeyStatus;
  /** Whether the domain key an EKT names is loaded. */
  hasDomainKey(id: string): boolean;

  /** Generate a new 256-bit HBK inside the boundary and return only its EKT. */
  createBackingKey(binding: EktBinding): WrappedBackingKey;
  /** Encrypt up to 4096 bytes (or a data key) into a self-describing blob. */
  encrypt(key: BackingKeyHandle, plaintext: Buffer, context: EncryptionContext | undefined): Buffer;
  /** Decrypt a parsed v1 blob; any failure is InvalidCiphertextException. */
  decrypt(
    key: BackingKeyHandle,
    blob: SymmetricBlob,
    context: EncryptionContext | undefined,
  ): Buffer;
  /** Rewrap an EKT under the active domain key (domain-key rotation). */
  rewrap(binding: EktBinding, wrapped: WrappedBackingKey): WrappedBackingKey;
  /**
   * Re-seal an EKT for another binding (a multi-Region replica: same material, another key
   * ARN). The material never leaves the HSM; the result is wrapped under the active domain key.
   */
  rebind(from: EktBinding & WrappedBackingKey, to: EktBinding): WrappedBackingKey;
  /** Seal a small secret (access key secret, PIN) for storage at rest. */
  sealSecret(label: string, secret: Buffer): Buffer;
  openSecret(label: string, sealed: Buffer): Buffer;
  random(n: number): Buffer;

  // ---- asymmetric and HMAC keys (the private key / HMAC key never leaves the HSM) ----

  /** Generate a KMS key's key pair; only the wrapped private key and the public key leave. */
  createKeyPair(binding: EktBinding, params: KeyPairParams): Promise<WrappedKeyPair>;
  /** Generate a data key pair (GenerateDataKeyPair*): both halves are returned. */
  generateDataKeyPair(params: KeyPairParams): Promise<PlainKeyPair>;
  /** Sign a message (RAW) or a message digest (DIGEST); ECDSA signatures are DER. */
  sign(key: BackingKeyHandle, message: Buffer, scheme: SignatureScheme, input: SignInput): Buffer;
  /** RSAES-OAEP decryption (MGF1 with the same hash); failure is InvalidCiphertextException. */
  decryptOaep(key: BackingKeyHandle, ciphertext: Buffer, hash: 'sha1' | 'sha256'): Buffer;
  /** ECDH (cofactor ECDH on the NIST curves: cofactor 1) with a peer's DER SPKI public key. */
  deriveSharedSecret(key: BackingKeyHandle, peerPublicKey: Buffer): Buffer;
  /** Generate an HMAC key of `length` bytes inside the boundary; only its EKT leaves. */
  createHmacKey(binding: EktBinding, length: number): WrappedBackingKey;
  /** HMAC of `message` under the key. */
  mac(key: BackingKeyHandle, hash: MacHash, message: Buffer): Buffer;
  /** Constant-time check of a MAC (crypto.timingSafeEqual). */
  verifyMac(key: BackingKeyHandle, hash: MacHash, message: Buffer, mac: Buffer): boolean;

  // ---- BYOK import (GetParametersForImport / ImportKeyMaterial; see key-import.ts) ----

  /**
   * A fresh RSA wrapping key pair for an import token: the DER SPKI public key, and the
   * private key sealed under the hierarchy for `label` (it never leaves the HSM in clear).
   */
  createImportWrappingKey(label: string, modulusBits: number): Promise<ImportWrappingKey>;
  /**
   * Unwrap imported key material with the token's wrapping key, check it against `expected`,
   * and seal it as the EKT of version `materialId` (HMAC of key id + material under the
   * hierarchy). InvalidCiphertextException when it does not unwrap;
   * IncorrectKeyMaterialException when it is not material of the key's spec.
   */
  importKeyMaterial(input: ImportKeyMaterialInput): ImportedKeyMaterial;
}

export interface ImportWrappingKey {
  /** DER SubjectPublicKeyInfo (GetParametersForImport PublicKey). */
  publicKey: Buffer;
  sealedPrivateKey: Buffer;
}

export interface ImportKeyMaterialInput {
  keyArn: string;
  keyId: string;
  /** The label the wrapping key was sealed for (createImportWrappingKey). */
  label: string;
  sealedPrivateKey: Buffer;
  algorithm: ImportWrappingAlgorithm;
  encryptedKeyMaterial: Buffer;
  expected: ImportedMaterialKind;
}

/** Imported material as a key version: `versionId` is the key material id. */
export interface ImportedKeyMaterial extends WrappedBackingKey {
  versionId: string;
  /** Asymmetric material: DER SubjectPublicKeyInfo. */
  publicKey?: Buffer | undefined;
}
