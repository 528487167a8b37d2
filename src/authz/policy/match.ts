/**
 * Matching of the Action, Resource and Principal elements of one statement.
 * - Action: case-insensitive, `*` and `?` wildcards (IAM "Action" element: "action names are
 *   not case sensitive").
 * - Resource: case-sensitive ARN with wildcards and policy variables. In a key policy the
 *   resource is the key itself, written `"*"` (key-policy-overview.md).
 * - Principal: see `matchPrincipal`.
 */
import type { PrincipalSpec, Statement } from './document.js';
import { globRegex, matchesGlobIgnoreCase, type VariableLookup } from './glob.js';

/** The caller, as the matcher needs it. */
export interface MatchPrincipal {
  readonly arn: string;
  readonly accountId: string;
  readonly type: 'Root' | 'IAMUser' | 'AssumedRole';
  /** For an assumed-role session, `arn:aws:iam::<acct>:role/<name>`. */
  readonly roleArn?: string | undefined;
  /** aws:userid: AIDA… for a user, `AROA…:<session>` for a session, the account for root. */
  readonly userId?: string | undefined;
}

/**
 * The IAM unique id a bound policy entry names the caller by: the user's AIDA…, or the
 * role's AROA… for its sessions (principal-binding.ts puts these in place of bound ARNs).
 */
export function uniqueIdOf(p: MatchPrincipal): string | undefined {
  if (p.userId === undefined || p.type === 'Root') return undefined;
  if (p.type === 'IAMUser') return p.userId;
  const colon = p.userId.indexOf(':');
  return colon < 0 ? p.userId : p.userId.slice(0, colon);
}

export function matchAction(stmt: Statement, action: string): boolean {
  if (stmt.action !== undefined) return stmt.action.some((p) => matchesGlobIgnoreCase(p, action));
  if (stmt.notAction !== undefined)
    return !stmt.notAction.some((p) => matchesGlobIgnoreCase(p, action));
  return false;
}

/**
 * `resource` is the key ARN, or `"*"` for account-level actions (CreateKey, ListKeys): IAM
 * authorizes those against resource `*`, so only a `"*"` pattern covers them.
 */
export function matchResource(
  stmt: Statement,
  resource: string,
  variables: boolean,
  lookup: VariableLookup,
): boolean {
  const hit = (p: string): boolean =>
    p === '*' || (globRegex(p, { variables, ignoreCase: false, lookup })?.test(resource) ?? false);
  if (stmt.resource !== undefined) return stmt.resource.some(hit);
  if (stmt.notResource !== undefined) return !stmt.notResource.some(hit);
  return false;
}

/** How a statement's principal element names the caller. */
export type PrincipalMatch = 'direct' | 'account' | 'none';

export function rootArnOf(accountId: string): string {
  return `arn:aws:iam::${accountId}:root`;
}

/**
 * Does a Principal list name the caller?
 * - `*` / `{"AWS":"*"}` → direct (everyone, every account).
 * - The caller's own ARN → direct; for an assumed-role session also its role ARN (IAM
 *   "Principal" element: "role sessions": a policy naming the role applies to its sessions).
 * - The caller's account (`arn:aws:iam::<acct>:root` or the bare id, normalized at parse time)
 *   → account: in a KMS key policy this delegates to IAM rather than allowing every principal
 *   of the account (KMS Developer Guide key-policy-default.md). The root user itself is named by
 *   the same ARN; `decide` treats root as allowed by IAM, so the outcome is the same.
 */
export function matchPrincipalSpec(spec: PrincipalSpec, p: MatchPrincipal): PrincipalMatch {
  if (spec.wildcard) return 'direct';
  let account = false;
  const root = rootArnOf(p.accountId);
  const id = uniqueIdOf(p);
  for (const a of spec.aws) {
    if (a === root) account = true;
    else if (a === p.arn || (p.roleArn !== undefined && a === p.roleArn) || a === id)
      return 'direct';
  }
  return account ? 'account' : 'none';
}

/**
 * NotPrincipal: the statement applies to every principal *not* excluded. IAM "NotPrincipal":
 * to exclude a principal from a Deny, "you must also include the account ARN" and, for a role
 * session, the assumed-role session ARN — so a caller is excluded only when both its own ARN
 * (session ARN for sessions) and its account are listed. `*` excludes everyone.
 */
export function notPrincipalApplies(spec: PrincipalSpec, p: MatchPrincipal): boolean {
  if (spec.wildcard) return false;
  const root = rootArnOf(p.accountId);
  const accountListed = spec.aws.includes(root);
  if (p.type === 'Root') return !accountListed;
  // A session is excluded by its own ARN only (not its role's), so only a user's id counts.
  const id = p.type === 'IAMUser' ? uniqueIdOf(p) : undefined;
  const listed = spec.aws.includes(p.arn) || (id !== undefined && spec.aws.includes(id));
  return !(accountListed && listed);
}

/** Principal match for a statement of a resource (key/trust) policy. */
export function matchStatementPrincipal(stmt: Statement, p: MatchPrincipal): PrincipalMatch {
  if (stmt.principal !== undefined) return matchPrincipalSpec(stmt.principal, p);
  if (stmt.notPrincipal !== undefined)
    return notPrincipalApplies(stmt.notPrincipal, p) ? 'direct' : 'none';
  return 'none';
}
