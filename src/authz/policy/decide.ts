/**
 * The KMS authorization decision, pure. Semantics: KMS Developer Guide policy-evaluation.md,
 * key-policy-overview.md, key-policy-default.md, grants.md:
 * 1. An explicit Deny in the key policy or an identity policy denies. Grants never deny.
 * 2. Same account: allowed if the key policy allows the caller directly (its ARN, its role, or
 *    `*`), or allows the caller's account (delegation) and an identity policy allows too.
 * 3. Cross account: the key policy must allow the caller or its account, and an identity
 *    policy in the caller's account must allow (key-policy-modifying-external-accounts.md),
 *    and only for the operations documented as cross-account (CROSS_ACCOUNT_ACTIONS).
 * 4. A grant whose grantee, operation and constraints match allows (same or other account).
 * 5. No key (CreateKey, ListKeys, ...): identity policies alone.
 * The account root user has no identity policies and IAM lets it do anything in its account;
 * keyhold models that as an implicit identity-policy Allow for type Root — but a key policy
 * still has to allow the account ("key policies do not implicitly grant the owning account").
 */
import {
  contextLookup,
  evaluateConditions,
  type ConditionContext,
  type ConditionResult,
} from './conditions.js';
import type { Effect, PolicyDocument } from './document.js';
import { grantOperationOf, granteeMatches, grantRejection, type DecisionGrant } from './grants.js';
import {
  matchAction,
  matchResource,
  matchStatementPrincipal,
  uniqueIdOf,
  type PrincipalMatch,
} from './match.js';
import { requestContext, type ContextPrincipal } from './request-context.js';

export type { DecisionGrant } from './grants.js';
export type DecisionPrincipal = ContextPrincipal;

export interface DecisionInput {
  principal: DecisionPrincipal;
  /** IAM action, e.g. `kms:Decrypt`. */
  action: string;
  /** Absent for account-level actions (CreateKey, ListKeys, ListAliases, GenerateRandom, ...). */
  resource?: {
    arn: string;
    accountId: string;
    keyPolicy: PolicyDocument;
    tags?: Record<string, string>;
  };
  /** The caller's own IAM policies (from the caller's account). */
  /**
   * For identity-only decisions on a non-key resource (the alias half of CreateAlias,
   * DeleteAlias, UpdateAlias: "kms:CreateAlias on the alias (IAM policy)"); ignored when
   * `resource` is set. Default `*` (CreateKey, ListKeys, ...).
   */
  resourceArn?: string;
  identityPolicies: PolicyDocument[];
  /** All grants on the key. */
  grants: DecisionGrant[];
  /** Request condition keys as AWS writes them; matched case-insensitively. */
  context: Record<string, string | string[] | number | boolean | undefined>;
  /** The request's encryption context, for grant constraints. */
  encryptionContext?: Record<string, string>;
}

/** One line of a decision's explanation (`keyhold authz explain`). */
export interface ExplainStep {
  source: 'key-policy' | 'identity-policy' | 'grant' | 'rule';
  /** `Sid "..."` or `Statement[i]`, prefixed by the policy index for identity policies; or a grant id. */
  ref: string;
  effect?: Effect;
  matched: boolean;
  principalMatch?: PrincipalMatch;
  detail: string;
  conditions?: ConditionResult[];
}

export interface Decision {
  allowed: boolean;
  kind: 'allow' | 'explicit-deny' | 'implicit-deny';
  deniedBy?: 'resource-policy' | 'identity-policy';
  reasons: ExplainStep[];
}

/** Operations whose documentation says "Cross-account use: Yes" (the API reference of each). */
export const CROSS_ACCOUNT_ACTIONS: ReadonlySet<string> = new Set(
  [
    'CreateGrant',
    'Decrypt',
    'DeriveSharedSecret',
    'DescribeKey',
    'Encrypt',
    'GenerateDataKey',
    'GenerateDataKeyPair',
    'GenerateDataKeyPairWithoutPlaintext',
    'GenerateDataKeyWithoutPlaintext',
    'GenerateMac',
    'GetKeyRotationStatus',
    'GetPublicKey',
    'ListGrants',
    'ReEncryptFrom',
    'ReEncryptTo',
    'RetireGrant',
    'RevokeGrant',
    'Sign',
    'Verify',
    'VerifyMac',
  ].map((op) => `kms:${op}`.toLowerCase()),
);

interface PolicyOutcome {
  deny: boolean;
  allowDirect: boolean;
  allowAccount: boolean;
}

function evalPolicy(
  doc: PolicyDocument,
  label: { source: 'key-policy' | 'identity-policy'; prefix: string },
  input: DecisionInput,
  resource: string,
  ctx: ConditionContext,
  steps: ExplainStep[],
): PolicyOutcome {
  const out: PolicyOutcome = { deny: false, allowDirect: false, allowAccount: false };
  const variables = doc.version === '2012-10-17';
  const lookup = contextLookup(ctx);
  for (const s of doc.statements) {
    if (!matchAction(s, input.action)) continue;
    const ref = `${label.prefix}${s.sid !== undefined ? `Sid "${s.sid}"` : `Statement[${s.index}]`}`;
    const step = (matched: boolean, detail: string, extra: Partial<ExplainStep> = {}): void => {
      steps.push({ source: label.source, ref, effect: s.effect, matched, detail, ...extra });
    };
    if (!s.effective) {
      step(false, 'statement has no Resource or Action and has no effect');
      continue;
    }
    if (!matchResource(s, resource, variables, lookup)) {
      step(false, `resource ${resource} not matched`);
      continue;
    }
    const pm: PrincipalMatch =
      label.source === 'key-policy' ? matchStatementPrincipal(s, input.principal) : 'direct';
    if (pm === 'none') {
      step(false, 'principal not matched', { principalMatch: pm });
      continue;
    }
    const cond = evaluateConditions(s.conditions, ctx, variables);
    const extra: Partial<ExplainStep> = {
      principalMatch: pm,
      ...(s.conditions.length ? { conditions: cond.results } : {}),
    };
    if (!cond.ok) {
      step(false, 'conditions not satisfied', extra);
      continue;
    }
    step(true, pm === 'account' ? 'matched via the account principal' : 'matched', extra);
    if (s.effect === 'Deny') out.deny = true;
    else if (pm === 'account') out.allowAccount = true;
    else out.allowDirect = true;
  }
  return out;
}

function evalGrants(input: DecisionInput, steps: ExplainStep[]): boolean {
  const op = grantOperationOf(input.action);
  if (op === undefined) return false;
  let allowed = false;
  for (const g of input.grants) {
    const bound = { granteeId: g.granteePrincipalId, callerId: uniqueIdOf(input.principal) };
    if (!granteeMatches(g.granteePrincipal, input.principal.arn, input.principal.roleArn, bound))
      continue;
    const why = grantRejection(g, op, input.encryptionContext);
    steps.push({
      source: 'grant',
      ref: g.grantId,
      matched: why === undefined,
      detail: why ?? `allows ${op}`,
    });
    if (why === undefined) allowed = true;
  }
  return allowed;
}

function deny(
  kind: 'explicit-deny' | 'implicit-deny',
  by: Decision['deniedBy'],
  reasons: ExplainStep[],
): Decision {
  return { allowed: false, kind, deniedBy: by, reasons };
}

/** Decide one request. Pure: no I/O, no clock (pass `aws:CurrentTime` in the context). */
export function decide(input: DecisionInput): Decision {
  const steps: ExplainStep[] = [];
  const ctx = requestContext(input.principal, input.context);
  const res = input.resource;
  const target = res?.arn ?? input.resourceArn ?? '*';
  const key = res
    ? evalPolicy(res.keyPolicy, { source: 'key-policy', prefix: '' }, input, res.arn, ctx, steps)
    : undefined;
  let idDeny = false;
  let idAllow = input.principal.type === 'Root';
  if (idAllow)
    steps.push({
      source: 'rule',
      ref: 'root',
      matched: true,
      detail: 'the account root user is allowed by IAM',
    });
  input.identityPolicies.forEach((doc, i) => {
    const o = evalPolicy(
      doc,
      { source: 'identity-policy', prefix: `policy[${i}] ` },
      input,
      target,
      ctx,
      steps,
    );
    idDeny ||= o.deny;
    idAllow ||= o.allowDirect;
  });
  if (key?.deny) return deny('explicit-deny', 'resource-policy', steps);
  if (idDeny) return deny('explicit-deny', 'identity-policy', steps);
  if (res === undefined || key === undefined) {
    return idAllow
      ? { allowed: true, kind: 'allow', reasons: steps }
      : deny('implicit-deny', 'identity-policy', steps);
  }
  if (evalGrants(input, steps)) return { allowed: true, kind: 'allow', reasons: steps };
  const sameAccount = input.principal.accountId === res.accountId;
  if (!sameAccount && !CROSS_ACCOUNT_ACTIONS.has(input.action.toLowerCase())) {
    steps.push({
      source: 'rule',
      ref: 'cross-account',
      matched: false,
      detail: `${input.action} is not a cross-account operation`,
    });
    return deny('implicit-deny', 'resource-policy', steps);
  }
  const keyAllows = key.allowDirect || key.allowAccount;
  if (sameAccount ? key.allowDirect || (key.allowAccount && idAllow) : keyAllows && idAllow)
    return { allowed: true, kind: 'allow', reasons: steps };
  return deny('implicit-deny', keyAllows ? 'identity-policy' : 'resource-policy', steps);
}

/** AWS's AccessDeniedException message for a denied decision. */
export function accessDeniedMessage(input: DecisionInput, d: Decision): string {
  const head = `User: ${input.principal.arn} is not authorized to perform: ${input.action} on resource: ${input.resource?.arn ?? input.resourceArn ?? '*'}`;
  const policy = d.deniedBy === 'identity-policy' ? 'identity-based' : 'resource-based';
  return d.kind === 'explicit-deny'
    ? `${head} with an explicit deny in a ${policy} policy`
    : `${head} because no ${policy} policy allows the ${input.action} action`;
}
