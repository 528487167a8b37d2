/**
 * The storage contract. No I/O here: adapters (sqlite/, later postgres/) implement it,
 * and one conformance suite (test/unit/storage/conformance.ts) runs against each.
 *
 * Storage is untrusted: it only ever holds wrapped key material (EKTs, wrapped domain
 * keys, sealed secrets). All methods are async so that a network database fits the
 * same shape; the SQLite adapter answers synchronously inside them.
 */
import type { GrantRepository } from './grant-repository.js';
import type { IamRepository } from './iam-repository.js';
import type { MultiRegionRepository } from './multi-region-repository.js';
import type { RotationRepository } from './rotation-repository.js';
import type { ImportRepository } from './import-repository.js';
import type { CustomKeyStoreRepository } from './custom-key-store-repository.js';

export type KeyState =
  | 'Creating'
  | 'Enabled'
  | 'Disabled'
  | 'PendingDeletion'
  | 'PendingImport'
  | 'PendingReplicaDeletion'
  | 'Unavailable'
  | 'Updating';

/** A KMS key as stored (metadata only; the material lives in key_versions as EKTs). */
export interface KeyRecord {
  region: string;
  keyId: string;
  accountId: string;
  arn: string;
  description: string;
  keyState: KeyState;
  keySpec: string;
  keyUsage: string;
  origin: string;
  keyManager: 'CUSTOMER' | 'AWS';
  multiRegion: boolean;
  policy: string;
  /**
   * The user and role ARNs the policy named, bound to their unique ids when it was saved
   * (iam/principal-binding.ts). Absent when it names none.
   */
  policyPrincipals?: Readonly<Record<string, string>> | undefined;
  creationDate: Date;
  deletionDate?: Date | undefined;
  pendingDeletionWindowInDays?: number | undefined;
  /** The backing-key version used for new encryptions. */
  currentVersionId?: string | undefined;
  /** Optimistic-concurrency counter, bumped by every update. */
  revision: number;
}

/** One HSM backing key version of a KMS key, stored only as an EKT. */
export interface KeyVersionRecord {
  region: string;
  keyId: string;
  versionId: string;
  domainKeyId: string;
  ekt: Buffer;
  createdAt: Date;
  /** Asymmetric keys: the DER SubjectPublicKeyInfo (the EKT then wraps the PKCS#8 private key). */
  publicKey?: Buffer | undefined;
}

export interface AliasRecord {
  region: string;
  accountId: string;
  aliasName: string;
  targetKeyId: string;
  creationDate: Date;
  lastUpdatedDate: Date;
}

export interface TagRecord {
  tagKey: string;
  tagValue: string;
}

export interface DomainKeyRecord {
  id: string;
  /** The domain key wrapped by the root key. */
  wrapped: Buffer;
  createdAt: Date;
  active: boolean;
}

export interface AccessKeyRecord {
  accessKeyId: string;
  accountId: string;
  principalArn: string;
  /** Secret access key sealed under the key hierarchy (never stored in clear). */
  sealedSecret: Buffer;
  createdAt: Date;
}

/** A page request: keyset pagination on a stable sort key. `after` is exclusive. */
export interface PageRequest {
  limit: number;
  after?: string | undefined;
}

/** Thrown by adapters when a unique constraint fails (alias name, access key id, ...). */
export class DuplicateKeyError extends Error {
  constructor(what: string) {
    super(`duplicate ${what}`);
    this.name = 'DuplicateKeyError';
  }
}

/** Thrown by updateKey when the record changed since it was read. */
export class ConcurrentUpdateError extends Error {
  constructor(what: string) {
    super(`concurrent update of ${what}`);
    this.name = 'ConcurrentUpdateError';
  }
}

export interface KeyRepository {
  /** Insert a key with its first backing-key version and tags, atomically. */
  createKey(
    key: KeyRecord,
    version: KeyVersionRecord | undefined,
    tags: TagRecord[],
  ): Promise<void>;
  getKey(region: string, keyId: string): Promise<KeyRecord | undefined>;
  /** Keys of one account and Region ordered by keyId. */
  listKeys(region: string, accountId: string, page: PageRequest): Promise<KeyRecord[]>;
  /**
   * Replace a key's mutable fields if its revision is still `key.revision`; stores
   * revision + 1. Throws ConcurrentUpdateError otherwise.
   */
  updateKey(key: KeyRecord): Promise<KeyRecord>;
  /** Keys in PendingDeletion whose deletion date is at or before `before` (any account/Region). */
  listKeysDueForDeletion(before: Date, limit: number): Promise<KeyRecord[]>;
  /**
   * Keys in state Creating created at or before `before` (any account/Region): replicas
   * whose asynchronous creation (ReplicateKey) a restart interrupted.
   */
  listKeysCreatingSince(before: Date, limit: number): Promise<KeyRecord[]>;
  /** Remove a key with its versions, aliases and tags (deletion after the waiting period). */
  deleteKey(region: string, keyId: string): Promise<void>;

  addKeyVersion(version: KeyVersionRecord): Promise<void>;
  getKeyVersion(
    region: string,
    keyId: string,
    versionId: string,
  ): Promise<KeyVersionRecord | undefined>;
  listKeyVersions(region: string, keyId: string): Promise<KeyVersionRecord[]>;
  /** Rewrap support: versions wrapped under a given domain key. */
  listVersionsByDomainKey(domainKeyId: string, limit: number): Promise<KeyVersionRecord[]>;
  replaceEkt(version: KeyVersionRecord, previousDomainKeyId: string): Promise<boolean>;

  listTags(region: string, keyId: string): Promise<TagRecord[]>;
  /** Upsert tags (same key → new value) and delete the given keys, atomically. */
  putTags(region: string, keyId: string, tags: TagRecord[]): Promise<void>;
  deleteTags(region: string, keyId: string, tagKeys: string[]): Promise<void>;
}

/** The last successful cryptographic use of a key (GetKeyLastUsage). */
export interface KeyLastUsageRecord {
  region: string;
  keyId: string;
  operation: string;
  usedAt: Date;
  eventId: string;
  requestId: string;
}

export interface KeyUsageRepository {
  /** Upsert the latest use of each key (later rows win). */
  putKeyLastUsage(rows: KeyLastUsageRecord[]): Promise<void>;
  getKeyLastUsage(region: string, keyId: string): Promise<KeyLastUsageRecord | undefined>;
  /** When this store began recording key usage. */
  getUsageTrackingStart(): Promise<Date>;
}

export interface AliasRepository {
  /** Throws DuplicateKeyError when the name exists in the account and Region. */
  createAlias(alias: AliasRecord): Promise<void>;
  getAlias(region: string, accountId: string, aliasName: string): Promise<AliasRecord | undefined>;
  /** Returns false when the alias no longer exists. */
  updateAlias(alias: AliasRecord): Promise<boolean>;
  deleteAlias(region: string, accountId: string, aliasName: string): Promise<boolean>;
  /** Aliases ordered by name; with targetKeyId, only that key's aliases. */
  listAliases(
    region: string,
    accountId: string,
    page: PageRequest,
    targetKeyId?: string,
  ): Promise<AliasRecord[]>;
  countAliasesForKey(region: string, accountId: string, targetKeyId: string): Promise<number>;
}

export interface DomainKeyRepository {
  listDomainKeys(): Promise<DomainKeyRecord[]>;
  /** Insert a new domain key and make it the only active one, atomically. */
  addActiveDomainKey(key: DomainKeyRecord): Promise<void>;
  deleteDomainKey(id: string): Promise<void>;
}

export interface AccessKeyRepository {
  putAccessKey(key: AccessKeyRecord): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined>;
  listAccessKeys(accountId: string): Promise<AccessKeyRecord[]>;
}

/** One stored audit event with its chain hash. */
export interface AuditRow {
  seq: number;
  eventId: string;
  eventTime: string;
  eventName: string;
  principalArn: string | null;
  /** Space-separated key ARNs the event touched (for query by key). */
  keyArns: string;
  body: string;
  chainHash: Buffer;
}

export interface AuditHead {
  seq: number;
  chainHash: Buffer;
  mac: Buffer;
}

export interface AuditQuery {
  keyArn?: string | undefined;
  principalArn?: string | undefined;
  eventName?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  afterSeq?: number | undefined;
  /** Only rows with a smaller seq (paging newest first). */
  beforeSeq?: number | undefined;
  /** Newest (highest seq) first instead of oldest first. */
  newestFirst?: boolean | undefined;
  limit: number;
}

export interface AuditRepository {
  /** Append rows and move the head, in one durable transaction. */
  appendAudit(rows: AuditRow[], head: AuditHead): Promise<void>;
  getAuditHead(): Promise<AuditHead | undefined>;
  /** Rows in seq order starting after `afterSeq` (for verify: all of them, paged). */
  readAudit(afterSeq: number, limit: number): Promise<AuditRow[]>;
  /** Matching rows in seq order (descending when `newestFirst`), at most `limit`. */
  queryAudit(query: AuditQuery): Promise<AuditRow[]>;
}

/** Everything keyhold stores about keys and callers (the audit log is stored apart). */
export interface Storage
  extends
    KeyRepository,
    KeyUsageRepository,
    AliasRepository,
    DomainKeyRepository,
    AccessKeyRepository {
  readonly grants: GrantRepository;
  readonly iam: IamRepository;
  readonly rotation: RotationRepository;
  readonly imports: ImportRepository;
  readonly multiRegion: MultiRegionRepository;
  readonly customKeyStores: CustomKeyStoreRepository;
  close(): Promise<void>;
}
