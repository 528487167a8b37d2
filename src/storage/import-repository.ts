/**
 * BYOK import storage contract (no I/O). Import tokens (each with its sealed RSA wrapping
 * key, single use, valid 24 h) and, per EXTERNAL key, the state of its imported material.
 * Deleting a key deletes both (the adapter's job, e.g. a trigger).
 */
import type { KeyRecord, KeyState, KeyVersionRecord } from './repository.js';

export type ExpirationModel = 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';

/** One GetParametersForImport answer, as stored. */
export interface ImportTokenRecord {
  /** SHA-256 (hex) of the opaque import token; the token itself is not stored. */
  tokenId: string;
  region: string;
  keyId: string;
  wrappingAlgorithm: string;
  wrappingKeySpec: string;
  /** The RSA wrapping private key, sealed by the HSM for this token. */
  sealedPrivateKey: Buffer;
  validTo: Date;
}

/** The imported material of one EXTERNAL key (absent row = never imported). */
export interface ImportStateRecord {
  region: string;
  keyId: string;
  /** The key material id (= key version id) of the material imported into this key. */
  materialId: string;
  /** Whether the material is present now (false after deletion or expiry). */
  imported: boolean;
  /** Set while imported. */
  expirationModel?: ExpirationModel | undefined;
  /** Set while imported with KEY_MATERIAL_EXPIRES. */
  validTo?: Date | undefined;
}

export interface CompleteImportInput {
  /** The key as read; the import happens only if its revision is still `key.revision`. */
  key: KeyRecord;
  /** The token is consumed in the same transaction (single use). */
  tokenId: string;
  /** The material as a key version (replaces the stored version of the same id). */
  version: KeyVersionRecord;
  /** The key's state afterwards (Enabled, or unchanged when it had material). */
  keyState: KeyState;
  expirationModel: ExpirationModel;
  validTo?: Date | undefined;
}

export type CompleteImportResult =
  | { kind: 'imported'; key: KeyRecord }
  /** The token was already used (or deleted) by a concurrent import. */
  | { kind: 'token-used' };

export interface ImportRepository {
  readonly kind: 'import';
  putImportToken(token: ImportTokenRecord): Promise<void>;
  getImportToken(tokenId: string): Promise<ImportTokenRecord | undefined>;
  /** Delete tokens whose validity ended at or before `before`; returns how many. */
  deleteExpiredImportTokens(before: Date): Promise<number>;
  getImportState(region: string, keyId: string): Promise<ImportStateRecord | undefined>;
  /**
   * Atomically: consume the token, store the version, make it the key's current version with
   * `keyState` (revision + 1), and record the import. Throws ConcurrentUpdateError when the
   * key's revision changed; nothing is written unless the result is `imported`.
   */
  completeImport(input: CompleteImportInput): Promise<CompleteImportResult>;
  /**
   * Atomically: delete every key version of the key (its EKTs), clear its current version,
   * put it in `keyState` (revision + 1) and mark the material not imported. Throws
   * ConcurrentUpdateError when the key's revision changed.
   */
  deleteImportedMaterial(key: KeyRecord, keyState: KeyState): Promise<KeyRecord>;
  /** Imported material that expires at or before `before`, soonest first (any account/Region). */
  listExpiredImports(before: Date, limit: number): Promise<ImportStateRecord[]>;
}
