/**
 * BYOK import storage contract (no I/O). Import tokens (each with its sealed RSA wrapping
 * key, single use, valid 24 h) and, per EXTERNAL key, its imported key materials (several
 * for symmetric keys, which rotate to newly imported material on demand).
 * Deleting a key deletes both (the adapter's job, e.g. a trigger).
 */
import type { KeyRecord, KeyState, KeyVersionRecord } from './repository.js';
import type { RotateKeyResult, RotationRecord } from './rotation-repository.js';

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

/**
 * One key material associated with an EXTERNAL key (absent = never imported, or imported for
 * rotation and then deleted). CURRENT / NON_CURRENT are derived from the key's current
 * version; `pendingRotation` material was imported with ImportType NEW_KEY_MATERIAL and
 * waits for RotateKeyOnDemand (not yet permanently associated).
 */
export interface ImportedMaterialRecord {
  region: string;
  keyId: string;
  /** The key material id (= key version id). */
  materialId: string;
  pendingRotation: boolean;
  /** Whether the material is present now (false after deletion or expiry). */
  imported: boolean;
  /** Set while imported. */
  expirationModel?: ExpirationModel | undefined;
  /** Set while imported with KEY_MATERIAL_EXPIRES. */
  validTo?: Date | undefined;
  /** KeyMaterialDescription, kept across re-imports that name none. */
  description?: string | undefined;
  /** When the material was first associated with the key (list order). */
  associatedAt: Date;
}

export interface CompleteImportInput {
  /** The key as read; the import happens only if its revision is still `key.revision`. */
  key: KeyRecord;
  /** The token is consumed in the same transaction (single use). */
  tokenId: string;
  /** The material as a key version (replaces the stored version of the same id). */
  version: KeyVersionRecord;
  /** The key's current version afterwards (the first import makes its material current). */
  currentVersionId: string;
  /** The key's state afterwards. */
  keyState: KeyState;
  /** The material's record afterwards (inserted or replaced). */
  material: ImportedMaterialRecord;
}

export type CompleteImportResult =
  | { kind: 'imported'; key: KeyRecord }
  /** The token was already used (or deleted) by a concurrent import. */
  | { kind: 'token-used' };

export interface DeleteMaterialInput {
  key: KeyRecord;
  materialId: string;
  /** The key's state afterwards. */
  keyState: KeyState;
  /**
   * Material pending rotation is forgotten altogether (its row goes); permanently
   * associated material stays listed as not imported.
   */
  forget: boolean;
}

export interface RotateToMaterialInput {
  key: KeyRecord;
  /** The pending material that becomes current (its version is already stored). */
  materialId: string;
  rotation: RotationRecord;
  maxOnDemand: number;
}

export interface ImportRepository {
  readonly kind: 'import';
  putImportToken(token: ImportTokenRecord): Promise<void>;
  getImportToken(tokenId: string): Promise<ImportTokenRecord | undefined>;
  /** Delete tokens whose validity ended at or before `before`; returns how many. */
  deleteExpiredImportTokens(before: Date): Promise<number>;
  /** Every material associated with the key, by association date then id. */
  listImportedMaterials(region: string, keyId: string): Promise<ImportedMaterialRecord[]>;
  /**
   * Atomically: consume the token, store the version, set the key's current version and
   * `keyState` (revision + 1), and write the material record. Throws ConcurrentUpdateError
   * when the key's revision changed; nothing is written unless the result is `imported`.
   */
  completeImport(input: CompleteImportInput): Promise<CompleteImportResult>;
  /**
   * Atomically: delete the material's key version (its EKT), put the key in `keyState`
   * (revision + 1, current version unchanged) and mark the material not imported (or forget
   * it). Throws ConcurrentUpdateError when the key's revision changed.
   */
  deleteImportedMaterial(input: DeleteMaterialInput): Promise<KeyRecord>;
  /**
   * On-demand rotation of imported material, atomically: refuse when the key has
   * `maxOnDemand` on-demand rotations, else make the pending material current (revision + 1),
   * no longer pending, and record the rotation. Throws ConcurrentUpdateError when the key's
   * revision changed.
   */
  rotateToImportedMaterial(input: RotateToMaterialInput): Promise<RotateKeyResult>;
  /** Imported material that expires at or before `before`, soonest first (any account/Region). */
  listExpiredImports(before: Date, limit: number): Promise<ImportedMaterialRecord[]>;
}
