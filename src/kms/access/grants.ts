/**
 * What the grant operations share: grant ids and tokens, the grant operations each key type
 * allows (as data), principal ARN checks, and GrantRecord → GrantListEntry. Also the view of
 * a key's grants the authorizer evaluates (grantsForDecision).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { rootArn } from '../../auth/principal.js';
import { uniqueIdOf, type MatchPrincipal } from '../../authz/policy/match.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { GrantConstraintsRecord, GrantRecord } from '../../storage/grant-repository.js';
import type { KeyRecord, Storage } from '../../storage/repository.js';
import { keyArn } from '../keys/arn.js';
import type { RequestContext } from '../context.js';

/** Grants per KMS key (KMS Developer Guide resource-limits.md, "Grants for a KMS key"). */
export const MAX_GRANTS_PER_KEY = 50_000;

/** Pairs per encryption context constraint, and the longest value (CreateGrant Constraints docs). */
export const MAX_CONSTRAINT_PAIRS = 8;
export const MAX_CONSTRAINT_VALUE_LENGTH = 384;

const COMMON_OPERATIONS = ['CreateGrant', 'RetireGrant', 'DescribeKey'] as const;

/**
 * Grant operations valid per key type (devguide grants.md "Grant operations"): keyed by `<KeySpec class>/<KeyUsage>`. A grant for an operation the key cannot do
 * is refused with ValidationException.
 */
export const GRANT_OPERATIONS_BY_KEY_TYPE: Readonly<Record<string, readonly string[]>> = {
  'SYMMETRIC/ENCRYPT_DECRYPT': [
    'Decrypt',
    'Encrypt',
    'GenerateDataKey',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
    'GenerateDataKeyWithoutPlaintext',
    'ReEncryptFrom',
    'ReEncryptTo',
    ...COMMON_OPERATIONS,
  ],
  'ASYMMETRIC/ENCRYPT_DECRYPT': [
    'Decrypt',
    'Encrypt',
    'ReEncryptFrom',
    'ReEncryptTo',
    'GetPublicKey',
    ...COMMON_OPERATIONS,
  ],
  'ASYMMETRIC/SIGN_VERIFY': ['Sign', 'Verify', 'GetPublicKey', ...COMMON_OPERATIONS],
  'ASYMMETRIC/KEY_AGREEMENT': ['DeriveSharedSecret', 'GetPublicKey', ...COMMON_OPERATIONS],
  'HMAC/GENERATE_VERIFY_MAC': ['GenerateMac', 'VerifyMac', ...COMMON_OPERATIONS],
};

function keyTypeClass(key: KeyRecord): string {
  if (key.keySpec === 'SYMMETRIC_DEFAULT') return 'SYMMETRIC';
  return key.keySpec.startsWith('HMAC_') ? 'HMAC' : 'ASYMMETRIC';
}

/** The grant operations a key allows. */
export function grantOperationsFor(key: KeyRecord): readonly string[] {
  return GRANT_OPERATIONS_BY_KEY_TYPE[`${keyTypeClass(key)}/${key.keyUsage}`] ?? COMMON_OPERATIONS;
}

/** Whether encryption context constraints mean anything for the key (only symmetric encryption keys take a context). */
export function keyTakesEncryptionContext(key: KeyRecord): boolean {
  return keyTypeClass(key) === 'SYMMETRIC' && key.keyUsage === 'ENCRYPT_DECRYPT';
}

/** Refuse operations the key type cannot grant (AWS: ValidationException "ValidationError"). */
export function checkGrantOperations(key: KeyRecord, operations: readonly string[]): void {
  const allowed = new Set(grantOperationsFor(key));
  const bad = operations.filter((op) => !allowed.has(op));
  if (bad.length > 0) {
    throw kmsError(
      'ValidationException',
      `Grant operations ${bad.join(', ')} are not valid for ${key.arn} with key spec ${key.keySpec} and key usage ${key.keyUsage}.`,
    );
  }
}

// ---- grant ids ----

const GRANT_ID_RE = /^[0-9a-f]{64}$/;

/** A new grant id: 64 lowercase hex characters, like AWS's. */
export function newGrantId(): string {
  return randomBytes(32).toString('hex');
}

/**
 * A GrantId parameter that keyhold cannot have issued is InvalidGrantIdException; a
 * well-formed id of no grant is the operation's business (NotFoundException).
 */
export function checkGrantId(grantId: string): void {
  if (!GRANT_ID_RE.test(grantId)) throw kmsError('InvalidGrantIdException', 'Invalid grant ID');
}

// ---- grant tokens ----

/*
 * Token design. AWS tokens are opaque base64 strings, a new one per CreateGrant call (even an
 * idempotent retry), all of a grant's tokens interchangeable, and RetireGrant(GrantToken)
 * needs no KeyId. keyhold's token is base64 (standard alphabet, padded) of
 *   [version 0x01 | 64 random bytes]   (65 bytes → 88 characters).
 * It carries no grant id: an idempotent CreateGrant retry learns which grant it names only
 * inside the storage transaction, after the token is minted.
 * Storage keeps only SHA-256(token bytes) → (region, key id, grant id) in grant_tokens:
 *  - lookup is one primary-key probe, with no server-side secret to manage or rotate (an
 *    HMAC design would need a MAC key shared by every node and surviving restores);
 *  - deleting a grant deletes its token rows, so a retired grant's token stops resolving;
 *  - a copy of the database does not yield usable tokens (only their hashes);
 *  - 512 random bits make tokens unguessable.
 */
const TOKEN_VERSION = 0x01;
const TOKEN_BYTES = 1 + 64;

export interface MintedToken {
  token: string;
  hash: Buffer;
}

export function mintGrantToken(): MintedToken {
  const bytes = Buffer.concat([Buffer.of(TOKEN_VERSION), randomBytes(TOKEN_BYTES - 1)]);
  return { token: bytes.toString('base64'), hash: sha256(bytes) };
}

/** Parse a grant token to its storage hash; InvalidGrantTokenException if keyhold could not have issued it. */
export function decodeGrantToken(token: string): Buffer {
  const bytes = Buffer.from(token, 'base64');
  if (
    bytes.length !== TOKEN_BYTES ||
    bytes[0] !== TOKEN_VERSION ||
    bytes.toString('base64') !== token
  ) {
    throw invalidGrantToken();
  }
  return sha256(bytes);
}

/** Check the format of every token in a GrantTokens list (a malformed one fails the request). */
export function checkGrantTokens(tokens: readonly string[] | undefined): void {
  for (const t of tokens ?? []) decodeGrantToken(t);
}

/** The grant a token names, or InvalidGrantTokenException (malformed, unknown, retired). */
export async function grantForToken(ctx: RequestContext, token: string): Promise<GrantRecord> {
  const grant = await ctx.services.storage.grants.getGrantByTokenHash(decodeGrantToken(token));
  if (grant === undefined) throw invalidGrantToken();
  return grant;
}

function invalidGrantToken(): Error {
  return kmsError('InvalidGrantTokenException', 'Invalid grant token.');
}

function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

// ---- principals ----

const PRINCIPAL_ARN_RE =
  /^arn:aws:(?:iam::(\d{12}):(?:root|user\/.+|role\/.+)|sts::(\d{12}):(?:assumed-role\/.+\/.+|federated-user\/.+))$/;

/**
 * A grantee or retiring principal: the ARN of an account (`:root`), IAM user or role,
 * assumed-role session or federated user (CreateGrant docs). Anything else is refused with
 * InvalidArnException, what KMS answers for a principal it cannot resolve. Returns the
 * principal's account.
 */
export function checkPrincipalArn(arn: string, member: string): string {
  const m = PRINCIPAL_ARN_RE.exec(arn);
  if (m === null)
    throw kmsError('InvalidArnException', `${member} ${arn} is not a valid principal ARN.`);
  return (m[1] ?? m[2]) as string;
}

/**
 * Whether the caller is the principal a grant names: the same ARN, or a session of the
 * named role (`arn:aws:sts::<acct>:assumed-role/<role>/<session>` is `…:role/<role>`;
 * roles with a path match on the role name, as in AWS's assumed-role ARNs).
 */
export function principalMatches(callerArn: string, named: string): boolean {
  if (callerArn === named) return true;
  const session = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  const role = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(named);
  return session !== null && role !== null && session[1] === role[1] && session[2] === role[2];
}

// ---- records ----

/** Canonical constraints: absent when empty, maps with sorted keys. */
export function normalizeConstraints(
  c: GrantConstraintsRecord,
): GrantConstraintsRecord | undefined {
  const out: GrantConstraintsRecord = {};
  if (c.encryptionContextSubset !== undefined)
    out.encryptionContextSubset = sortedMap(c.encryptionContextSubset);
  if (c.encryptionContextEquals !== undefined)
    out.encryptionContextEquals = sortedMap(c.encryptionContextEquals);
  return Object.keys(out).length === 0 ? undefined : out;
}

function sortedMap(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * What makes two named CreateGrant calls "identical" for idempotency: name, grantee,
 * retiring principal, the set of operations and the constraints (key and Region are part
 * of the unique index).
 */
export function grantFingerprint(p: {
  name?: string | undefined;
  granteePrincipal: string;
  retiringPrincipal?: string | undefined;
  operations: readonly string[];
  constraints?: GrantConstraintsRecord | undefined;
}): string {
  const canonical = JSON.stringify([
    p.name ?? null,
    p.granteePrincipal,
    p.retiringPrincipal ?? null,
    [...new Set(p.operations)].sort(),
    p.constraints === undefined ? null : (normalizeConstraints(p.constraints) ?? null),
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** A stored grant as ListGrants / ListRetirableGrants show it. */
export function toGrantListEntry(g: GrantRecord, keyAccountId: string): GrantListEntry {
  const entry: GrantListEntry = {
    KeyId: keyArn(g.region, keyAccountId, g.keyId),
    GrantId: g.grantId,
    CreationDate: g.creationDate,
    GranteePrincipal: g.granteePrincipal,
    IssuingAccount: rootArn(g.accountId),
    Operations: g.operations as GrantListEntry['Operations'],
  };
  if (g.name !== undefined) entry.Name = g.name;
  if (g.retiringPrincipal !== undefined) entry.RetiringPrincipal = g.retiringPrincipal;
  if (g.constraints !== undefined) {
    entry.Constraints = {};
    if (g.constraints.encryptionContextSubset !== undefined)
      entry.Constraints.EncryptionContextSubset = g.constraints.encryptionContextSubset;
    if (g.constraints.encryptionContextEquals !== undefined)
      entry.Constraints.EncryptionContextEquals = g.constraints.encryptionContextEquals;
  }
  return entry;
}

// ---- for the authorizer ----

export interface GrantForDecision {
  grantId: string;
  name?: string;
  granteePrincipal: string;
  /** The grantee's unique id, when the grant was bound to an existing user or role. */
  granteePrincipalId?: string;
  retiringPrincipal?: string;
  /** Grant operation names (ReEncryptFrom / ReEncryptTo, not kms:ReEncrypt*). */
  operations: string[];
  /**
   * Encryption context constraints. AWS compares constraint keys case-insensitively and
   * values case-sensitively (GrantConstraints docs); they apply only to operations with an
   * EncryptionContext parameter (and CreateGrant), not to DescribeKey / RetireGrant.
   */
  constraints?: {
    encryptionContextSubset?: Record<string, string>;
    encryptionContextEquals?: Record<string, string>;
  };
}

/**
 * The grants of `key` that can apply to the caller, for the authorization decision (a grant
 * for anyone else could not change it). keyhold's grants are immediately
 * consistent, so a grant token adds nothing here beyond its format check (checkGrantTokens).
 */
export async function grantsForDecision(
  ctx: { principal: MatchPrincipal; services: { storage: Pick<Storage, 'grants'> } },
  key: KeyRecord,
): Promise<GrantForDecision[]> {
  // Only the grants that can name this caller (granteeMatches in authz/policy/grants.ts: its
  // ARN, its session's role ARN, or its unique id): index lookups, however many grants the
  // key has (docs/benchmarks.md "Scale of data").
  const p = ctx.principal;
  const grants = await ctx.services.storage.grants.listGrantsForGrantee(key.region, key.keyId, {
    arns: p.roleArn !== undefined ? [p.arn, p.roleArn] : [p.arn],
    principalId: uniqueIdOf(p),
  });
  return grants.map((g) => {
    const d: GrantForDecision = {
      grantId: g.grantId,
      granteePrincipal: g.granteePrincipal,
      operations: g.operations,
    };
    if (g.granteePrincipalId !== undefined) d.granteePrincipalId = g.granteePrincipalId;
    if (g.name !== undefined) d.name = g.name;
    if (g.retiringPrincipal !== undefined) d.retiringPrincipal = g.retiringPrincipal;
    if (g.constraints !== undefined) d.constraints = g.constraints;
    return d;
  });
}
