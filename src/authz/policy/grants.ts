/**
 * Grant matching (KMS Developer Guide grants.md). Grants only allow.
 */

export interface DecisionGrant {
  grantId: string;
  name?: string;
  granteePrincipal: string;
  /** The grantee's unique id when the grant was created for an existing user or role. */
  granteePrincipalId?: string | undefined;
  /** Grant operations, e.g. `Decrypt`, `CreateGrant` (no `kms:` prefix). */
  operations: string[];
  constraints?: {
    encryptionContextSubset?: Record<string, string>;
    encryptionContextEquals?: Record<string, string>;
  };
}

/**
 * Operations that take an EncryptionContext, to which constraints apply. CreateGrant doc:
 * "grants with constraints can include the DescribeKey and RetireGrant operations, but the
 * constraint doesn't apply to these operations"; likewise for operations of asymmetric/HMAC keys,
 * which have no encryption context.
 */
const EC_OPERATIONS = new Set([
  'Encrypt',
  'Decrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'CreateGrant',
]);

/** `kms:Decrypt` → `Decrypt`; undefined for a non-KMS action. */
export function grantOperationOf(action: string): string | undefined {
  return action.startsWith('kms:') ? action.slice(4) : undefined;
}

/**
 * The grantee is the caller's ARN; for an assumed-role session, the grantee may also be the
 * role ARN (grants.md: "grantee principal ... IAM role, or assumed role user"). An account
 * root grantee matches only the root user itself (keyhold's choice: grants.md does not say
 * that an account grantee delegates to IAM).
 */
export function granteeMatches(
  grantee: string,
  arn: string,
  roleArn: string | undefined,
  bound?: { granteeId: string | undefined; callerId: string | undefined },
): boolean {
  // Bound to a unique id: only that user (or that role's sessions), never a namesake.
  if (bound?.granteeId !== undefined) return bound.granteeId === bound.callerId;
  return grantee === arn || (roleArn !== undefined && grantee === roleArn);
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return (
    ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k])
  );
}

function subsetOf(sub: Record<string, string>, of: Record<string, string>): boolean {
  return Object.entries(sub).every(([k, v]) => Object.hasOwn(of, k) && of[k] === v);
}

/** Why a grant did or did not allow the operation (`undefined` = allows). */
export function grantRejection(
  g: DecisionGrant,
  operation: string,
  encryptionContext: Record<string, string> | undefined,
): string | undefined {
  if (!g.operations.includes(operation)) return `operation ${operation} not in grant operations`;
  const c = g.constraints;
  if (c === undefined || !EC_OPERATIONS.has(operation)) return undefined;
  const ec = encryptionContext ?? {};
  // Case-sensitive exact match / all pairs present (grants.md "Grant constraints").
  if (c.encryptionContextEquals !== undefined && !sameMap(c.encryptionContextEquals, ec))
    return 'EncryptionContextEquals constraint not satisfied';
  if (c.encryptionContextSubset !== undefined && !subsetOf(c.encryptionContextSubset, ec))
    return 'EncryptionContextSubset constraint not satisfied';
  return undefined;
}
