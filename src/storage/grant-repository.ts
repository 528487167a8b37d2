/**
 * Grants storage contract (no I/O). A grant belongs to exactly one key; it is found by
 * (region, key id, grant id), by the SHA-256 of one of its grant tokens, or by its retiring
 * principal. Deleting a key deletes its grants (the adapter's job, e.g. a trigger).
 */
import type { PageRequest } from './repository.js';

/** Encryption context grant constraints (at most one of the two is set). */
export interface GrantConstraintsRecord {
  encryptionContextSubset?: Record<string, string>;
  encryptionContextEquals?: Record<string, string>;
}

export interface GrantRecord {
  region: string;
  keyId: string;
  /** 64 lowercase hex characters. */
  grantId: string;
  /** The account that issued the grant (the caller's account at CreateGrant). */
  accountId: string;
  /** The principal ARN that called CreateGrant. */
  issuingPrincipal: string;
  name?: string;
  granteePrincipal: string;
  retiringPrincipal?: string;
  /** Unique ids (AIDA…/AROA…) of the grantee / retiring user or role, when it existed. */
  granteePrincipalId?: string;
  retiringPrincipalId?: string;
  operations: string[];
  constraints?: GrantConstraintsRecord;
  creationDate: Date;
  /**
   * Hash of the CreateGrant parameters that make a named retry "identical"; the adapter
   * keeps it unique per key among named grants (CreateGrant idempotency).
   */
  fingerprint: string;
}

export interface GrantFilters {
  grantId?: string | undefined;
  granteePrincipal?: string | undefined;
}

export interface CreateGrantResult {
  /** The stored grant: `grant` itself, or the existing one with the same fingerprint. */
  grant: GrantRecord;
  created: boolean;
}

/** Who a grant lookup is for: the caller's ARNs (its own, a session's role) and unique id. */
export interface GranteeLookup {
  arns: readonly string[];
  principalId?: string | undefined;
}

export interface GrantRepository {
  readonly kind: 'grants';
  /**
   * Store a grant and one token hash, atomically. When `grant.name` is set and a grant of
   * the same key has the same fingerprint, nothing new is created: the token hash is added
   * to the existing grant, which is returned with `created: false`.
   */
  createGrant(grant: GrantRecord, tokenHash: Buffer): Promise<CreateGrantResult>;
  getGrant(region: string, keyId: string, grantId: string): Promise<GrantRecord | undefined>;
  /** The grant one of whose tokens hashes to `tokenHash`. */
  getGrantByTokenHash(tokenHash: Buffer): Promise<GrantRecord | undefined>;
  /** Every grant of a key. */
  listGrantsForKey(region: string, keyId: string): Promise<GrantRecord[]>;
  /**
   * The grants of a key that can apply to one caller (the authorization hot path): those
   * whose grantee ARN is one of `grantee.arns`, and those bound to `grantee.principalId`.
   * A superset of the grants that match (the decision checks each); index lookups, so the
   * cost does not grow with the key's other grants.
   */
  listGrantsForGrantee(
    region: string,
    keyId: string,
    grantee: GranteeLookup,
  ): Promise<GrantRecord[]>;
  /** Grants of a key ordered by grant id, optionally filtered. */
  listGrants(
    region: string,
    keyId: string,
    page: PageRequest,
    filters?: GrantFilters,
  ): Promise<GrantRecord[]>;
  /** Grants in a Region (any key, any account) whose retiring principal is `retiringPrincipal`, by grant id. */
  listRetirableGrants(
    region: string,
    retiringPrincipal: string,
    page: PageRequest,
  ): Promise<GrantRecord[]>;
  /** Delete a grant and its token hashes; false when it did not exist. */
  deleteGrant(region: string, keyId: string, grantId: string): Promise<boolean>;
  countGrantsForKey(region: string, keyId: string): Promise<number>;
}
