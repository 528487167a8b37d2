/**
 * Policy evaluation for STS AssumeRole: the role's trust policy (a resource-based policy) and
 * the caller's identity policies, built on the policy modules in authz/policy/.
 *
 * AWS rules applied (STS API Reference, AssumeRole, "Permissions"; IAM User Guide "Policy
 * evaluation logic" and "Cross-account policy evaluation logic"):
 * - An explicit Deny in either policy wins.
 * - Same account: the trust policy alone suffices when it names the caller directly (its ARN,
 *   its role's ARN for a session, or `*`); when it names only the account, an identity
 *   policy must also allow `sts:AssumeRole` on the role.
 * - Another account: the trust policy must name the caller or its account, and the caller's
 *   identity policy must allow.
 * - The account root cannot assume roles ("Roles may not be assumed by root accounts").
 */
import {
  buildContext,
  contextLookup,
  evaluateConditions,
  type ConditionContext,
} from '../authz/policy/conditions.js';
import { parsePolicyCached } from '../authz/policy/cache.js';
import type { PolicyDocument, PolicyKind } from '../authz/policy/document.js';
import { boundDocument, type PrincipalBindings } from './principal-binding.js';
import {
  matchAction,
  matchResource,
  matchStatementPrincipal,
  type MatchPrincipal,
} from '../authz/policy/match.js';

/** Parse (shared LRU of authz/policy/cache.ts); throws MalformedPolicyDocumentException. */
export function parseCached(text: string, kind: PolicyKind): PolicyDocument {
  return parsePolicyCached(text, kind);
}

export type Effect = 'Allow' | 'Deny' | 'None';

export interface EvalPrincipal extends MatchPrincipal {
  userId: string;
}

/** The global condition keys of a caller (IAM "AWS global condition context keys"). */
export function principalContext(
  p: EvalPrincipal,
  now: Date,
  extra: Record<string, string | undefined>,
): ConditionContext {
  const name = p.type === 'IAMUser' ? p.arn.slice(p.arn.lastIndexOf('/') + 1) : undefined;
  return buildContext({
    'aws:PrincipalArn': p.type === 'AssumedRole' ? p.roleArn : p.arn,
    'aws:PrincipalAccount': p.accountId,
    'aws:PrincipalType':
      p.type === 'Root' ? 'Account' : p.type === 'IAMUser' ? 'User' : 'AssumedRole',
    'aws:userid': p.userId,
    'aws:username': name,
    'aws:CurrentTime': now.toISOString(),
    'aws:EpochTime': Math.floor(now.getTime() / 1000),
    ...extra,
  });
}

function variablesOf(doc: PolicyDocument): boolean {
  return doc.version === '2012-10-17';
}

/** Identity policies: Deny if any statement denies, Allow if one allows, else None. */
export function evaluateIdentity(
  docs: readonly PolicyDocument[],
  action: string,
  resource: string,
  ctx: ConditionContext,
): Effect {
  let allowed = false;
  const lookup = contextLookup(ctx);
  for (const doc of docs) {
    const vars = variablesOf(doc);
    for (const st of doc.statements) {
      if (!st.effective || !matchAction(st, action)) continue;
      if (!matchResource(st, resource, vars, lookup)) continue;
      if (!evaluateConditions(st.conditions, ctx, vars).ok) continue;
      if (st.effect === 'Deny') return 'Deny';
      allowed = true;
    }
  }
  return allowed ? 'Allow' : 'None';
}

/** Trust policy: Deny, Allow naming the caller directly, Allow naming its account, or None. */
export function evaluateTrust(
  doc: PolicyDocument,
  p: MatchPrincipal,
  action: string,
  ctx: ConditionContext,
): 'Deny' | 'AllowDirect' | 'AllowAccount' | 'None' {
  let best: 'AllowDirect' | 'AllowAccount' | 'None' = 'None';
  const vars = variablesOf(doc);
  for (const st of doc.statements) {
    const m = matchStatementPrincipal(st, p);
    if (m === 'none' || !matchAction(st, action)) continue;
    if (!evaluateConditions(st.conditions, ctx, vars).ok) continue;
    if (st.effect === 'Deny') return 'Deny';
    if (m === 'direct') best = 'AllowDirect';
    else if (best === 'None') best = 'AllowAccount';
  }
  return best;
}

export interface AssumeRoleDecision {
  allowed: boolean;
  reason: string;
}

/** Decide whether `caller` may `sts:AssumeRole` into the role. */
export function decideAssumeRole(input: {
  caller: EvalPrincipal;
  roleArn: string;
  roleAccountId: string;
  trustPolicy: string;
  /** The trust policy's principals bound to unique ids (principal-binding.ts). */
  trustPolicyPrincipals?: PrincipalBindings | undefined;
  identityPolicies: readonly string[];
  context: ConditionContext;
}): AssumeRoleDecision {
  const { caller } = input;
  if (caller.type === 'Root') return { allowed: false, reason: 'root' };
  const trust = evaluateTrust(
    boundDocument(parseCached(input.trustPolicy, 'trust'), input.trustPolicyPrincipals),
    caller,
    'sts:AssumeRole',
    input.context,
  );
  const identity = evaluateIdentity(
    input.identityPolicies.map((t) => parseCached(t, 'identity')),
    'sts:AssumeRole',
    input.roleArn,
    input.context,
  );
  if (trust === 'Deny' || identity === 'Deny') return { allowed: false, reason: 'explicit deny' };
  if (trust === 'None') return { allowed: false, reason: 'trust policy does not allow' };
  const sameAccount = caller.accountId === input.roleAccountId;
  if (sameAccount && trust === 'AllowDirect') return { allowed: true, reason: 'trust policy' };
  if (identity === 'Allow') return { allowed: true, reason: 'trust and identity policies' };
  return { allowed: false, reason: 'no identity-based policy allows' };
}
