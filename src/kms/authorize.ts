/**
 * The authorization step of every operation: gathers what the decision needs (key policy,
 * the caller's identity policies, the key's grants, the request's condition keys) and asks
 * the pure decision in authz/policy/. Operations call exactly one of these per resource
 * they touch. Parsed policies are cached by text; grants are read only when the policies
 * alone do not allow (they can only add an Allow).
 */
import { parsePolicyCached } from '../authz/policy/cache.js';
import {
  accessDeniedMessage,
  decide,
  type Decision,
  type DecisionInput,
  type DecisionPrincipal,
} from '../authz/policy/decide.js';
import type { PolicyDocument } from '../authz/policy/document.js';
import { kmsError } from '../errors/aws-errors.js';
import type { KeyRecord } from '../storage/repository.js';
import type { RequestContext, Services } from './context.js';
import { boundDocument } from '../iam/principal-binding.js';
import { grantsForDecision } from './grants.js';

/** What authorization reads of a request (a narrow view, so offline tools can build one). */
export type AuthzContext = Pick<
  RequestContext,
  'principal' | 'now' | 'sourceIp' | 'region' | 'requestAlias' | 'secureTransport'
> & { services: Pick<Services, 'storage'> };

/** A condition key's value in the request context. */
export type ConditionValue = string | string[] | number | boolean;

export interface AuthorizeOptions {
  /** The request's encryption context (condition keys and grant constraints). */
  encryptionContext?: Record<string, string> | undefined;
  /** GrantTokens from the request: make a just-created grant usable at once. */
  grantTokens?: string[] | undefined;
  /** Operation-specific condition keys, e.g. `kms:GrantOperations`, `kms:KeySpec`. */
  conditions?: Record<string, ConditionValue | undefined> | undefined;
}

/** Authorize `action` on a KMS key (key policy + identity policies + grants). */
export async function authorizeKey(
  ctx: AuthzContext,
  key: KeyRecord,
  action: string,
  opts: AuthorizeOptions = {},
): Promise<void> {
  const keyPolicy = keyPolicyDocument(key);
  const texts = await identityPolicyTexts(ctx);
  const identity = texts.map((t) => parsePolicyCached(t, 'identity'));
  const conditions = requestConditions(ctx, key, opts);
  // A decision depends only on the policies, the caller, the key, the action and the values
  // of the condition keys the policies name: remember it under exactly those.
  const memoKey = decisionKey([keyPolicy, ...identity], ctx, key.arn, action, conditions);
  let decision = memoKey === undefined ? undefined : decisions.get(memoKey);
  let input: DecisionInput | undefined;
  const fullInput = async (): Promise<DecisionInput> => {
    if (input !== undefined) return input;
    if (mentionsResourceKeys(key.policy) || texts.some(mentionsResourceKeys)) {
      await addResourceConditions(ctx, key, conditions);
    }
    input = {
      principal: decisionPrincipal(ctx),
      action,
      resource: { arn: key.arn, accountId: key.accountId, keyPolicy },
      identityPolicies: identity,
      grants: [],
      context: conditions,
      encryptionContext: opts.encryptionContext,
    };
    return input;
  };
  if (decision === undefined) {
    decision = decide(await fullInput());
    if (memoKey !== undefined) rememberDecision(memoKey, decision);
  }
  if (decision.kind === 'implicit-deny') {
    const withGrants = await fullInput();
    withGrants.grants = await grantsForDecision(ctx, key);
    if (withGrants.grants.length > 0) decision = decide(withGrants);
  }
  if (!decision.allowed) deny(await fullInput(), decision);
}

/** The parsed key policy decisions use: its bound principals replaced by their unique ids. */
export function keyPolicyDocument(
  key: Pick<KeyRecord, 'policy' | 'policyPrincipals'>,
): PolicyDocument {
  return boundDocument(parsePolicyCached(key.policy, 'key'), key.policyPrincipals);
}

const MAX_DECISIONS = 4096;
const decisions = new Map<string, Decision>();
interface DocShape {
  id: number;
  /** Lower-cased condition keys the document's conditions name. */
  keys: readonly string[];
}
const docShapes = new WeakMap<PolicyDocument, DocShape | null>();
let nextDocId = 1;

/**
 * What a decision under this document depends on beyond caller, key and action: its
 * condition keys. Null when it cannot be memoized: policy variables, or keys that cost a
 * read (aws:ResourceTag/*, kms:ResourceAliases).
 */
function docShape(doc: PolicyDocument): DocShape | null {
  let shape = docShapes.get(doc);
  if (shape === undefined) {
    const keys = new Set<string>();
    let memoizable = true;
    for (const st of doc.statements) {
      if ([...(st.resource ?? []), ...(st.notResource ?? [])].some((r) => r.includes('${')))
        memoizable = false;
      for (const c of st.conditions) {
        if (c.values.some((v) => v.includes('${'))) memoizable = false;
        if (c.keyLower.startsWith('aws:resourcetag/') || c.keyLower === 'kms:resourcealiases')
          memoizable = false;
        keys.add(c.keyLower);
      }
    }
    shape = memoizable ? { id: nextDocId++, keys: [...keys].sort() } : null;
    docShapes.set(doc, shape);
  }
  return shape;
}

function decisionKey(
  docs: PolicyDocument[],
  ctx: AuthzContext,
  keyArn: string,
  action: string,
  conditions: DecisionInput['context'],
): string | undefined {
  const shapes = docs.map(docShape);
  if (shapes.includes(null)) return undefined;
  const p = ctx.principal;
  // userId too: bound policies and grants name a principal by its unique id, not its ARN.
  let k = `${p.arn}|${p.roleArn ?? ''}|${p.type}|${p.userId}|${keyArn}|${action}`;
  const wanted = new Set(shapes.flatMap((s) => (s as DocShape).keys));
  for (const s of shapes) k += `|${(s as DocShape).id}`;
  if (wanted.size > 0) {
    // The request's values of the named keys (principal-derived keys follow from p.arn).
    const values: Record<string, unknown> = {};
    for (const [name, v] of Object.entries(conditions)) {
      const lower = name.toLowerCase();
      if (wanted.has(lower)) values[lower] = v;
    }
    k += `|${JSON.stringify(values)}`;
  }
  return k;
}

function rememberDecision(k: string, d: Decision): void {
  if (decisions.size >= MAX_DECISIONS) decisions.clear();
  decisions.set(k, d);
}

/** Authorize an account-level action (no key: CreateKey, ListKeys, GenerateRandom, ...): identity policies only. */
export async function authorizeAccount(
  ctx: AuthzContext,
  action: string,
  opts: AuthorizeOptions = {},
): Promise<void> {
  const input: DecisionInput = {
    principal: decisionPrincipal(ctx),
    action,
    identityPolicies: await identityPolicies(ctx),
    grants: [],
    context: requestConditions(ctx, undefined, opts),
  };
  deny(input, decide(input));
}

/** Authorize the alias half of an alias operation (identity policies on the alias ARN). */
export async function authorizeAlias(
  ctx: AuthzContext,
  aliasArn: string,
  action: string,
): Promise<void> {
  const input: DecisionInput = {
    principal: decisionPrincipal(ctx),
    action,
    resourceArn: aliasArn,
    identityPolicies: await identityPolicies(ctx),
    grants: [],
    context: requestConditions(ctx, undefined, {}),
  };
  deny(input, decide(input));
}

/**
 * The policy lockout safety check (CreateKey, PutKeyPolicy): would the caller still be
 * allowed kms:PutKeyPolicy under `policy`? Grants do not count (they cannot grant it).
 */
export async function wouldAllowPutKeyPolicy(
  ctx: AuthzContext,
  key: KeyRecord,
  policy: string,
): Promise<boolean> {
  // Not yet bound: the caller exists, and matches the new policy by its ARN.
  const input = await keyDecisionInput(ctx, key, { policy }, 'kms:PutKeyPolicy', {});
  return decide(input).allowed;
}

/** The full decision for `keyhold authz explain`. */
export async function explainKey(
  ctx: AuthzContext,
  key: KeyRecord,
  action: string,
  opts: AuthorizeOptions = {},
): Promise<{ input: DecisionInput; decision: Decision }> {
  const input = await keyDecisionInput(ctx, key, key, action, opts);
  input.grants = await grantsForDecision(ctx, key);
  return { input, decision: decide(input) };
}

async function keyDecisionInput(
  ctx: AuthzContext,
  key: KeyRecord,
  policyOf: Pick<KeyRecord, 'policy' | 'policyPrincipals'>,
  action: string,
  opts: AuthorizeOptions,
): Promise<DecisionInput> {
  const policy = policyOf.policy;
  const texts = await identityPolicyTexts(ctx);
  const context = requestConditions(ctx, key, opts);
  // Keys that cost a read (the key's tags and aliases) only when a policy mentions them.
  if (mentionsResourceKeys(policy) || texts.some(mentionsResourceKeys)) {
    await addResourceConditions(ctx, key, context);
  }
  return {
    principal: decisionPrincipal(ctx),
    action,
    resource: {
      arn: key.arn,
      accountId: key.accountId,
      keyPolicy: keyPolicyDocument(policyOf),
    },
    identityPolicies: texts.map((t) => parsePolicyCached(t, 'identity')),
    grants: [],
    context,
    encryptionContext: opts.encryptionContext,
  };
}

const mentions = new Map<string, boolean>();

/** Whether a policy text refers to aws:ResourceTag/* or kms:ResourceAliases (memoized, bounded). */
function mentionsResourceKeys(text: string): boolean {
  let m = mentions.get(text);
  if (m === undefined) {
    const lower = text.toLowerCase();
    m = lower.includes('aws:resourcetag') || lower.includes('kms:resourcealiases');
    if (mentions.size > 1024) mentions.clear();
    mentions.set(text, m);
  }
  return m;
}

/** aws:ResourceTag/<k> for each tag of the key, and kms:ResourceAliases (its alias names). */
async function addResourceConditions(
  ctx: AuthzContext,
  key: KeyRecord,
  context: DecisionInput['context'],
): Promise<void> {
  const storage = ctx.services.storage;
  for (const t of await storage.listTags(key.region, key.keyId))
    context[`aws:ResourceTag/${t.tagKey}`] = t.tagValue;
  const aliases = await storage.listAliases(key.region, key.accountId, { limit: 100 }, key.keyId);
  context['kms:ResourceAliases'] = aliases.map((a) => a.aliasName);
}

function deny(input: DecisionInput, decision: Decision): void {
  if (!decision.allowed)
    throw kmsError('AccessDeniedException', accessDeniedMessage(input, decision));
}

function decisionPrincipal(ctx: AuthzContext): DecisionPrincipal {
  const p = ctx.principal;
  return {
    arn: p.arn,
    accountId: p.accountId,
    type: p.type,
    userId: p.userId,
    ...(p.type === 'IAMUser' ? { username: p.arn.slice(p.arn.lastIndexOf('/') + 1) } : {}),
    ...(p.roleArn !== undefined ? { roleArn: p.roleArn } : {}),
  };
}

async function identityPolicies(ctx: AuthzContext): Promise<PolicyDocument[]> {
  return (await identityPolicyTexts(ctx)).map((t) => parsePolicyCached(t, 'identity'));
}

async function identityPolicyTexts(ctx: AuthzContext): Promise<string[]> {
  // The account root has no identity policies; IAM allows it everything in its account.
  if (ctx.principal.type === 'Root') return [];
  return ctx.services.storage.iam.getIdentityPolicies(ctx.principal);
}

/**
 * The request's condition keys. The principal's keys (aws:PrincipalArn, aws:userid,
 * kms:CallerAccount, ...) are derived by authz/policy/request-context.ts.
 */
function requestConditions(
  ctx: AuthzContext,
  key: KeyRecord | undefined,
  opts: AuthorizeOptions,
): DecisionInput['context'] {
  const c: DecisionInput['context'] = {
    'aws:SourceIp': ctx.sourceIp,
    'aws:CurrentTime': ctx.now.toISOString(),
    'aws:EpochTime': Math.floor(ctx.now.getTime() / 1000),
    'aws:SecureTransport': ctx.secureTransport === true,
    'aws:RequestedRegion': ctx.region,
  };
  if (key !== undefined) {
    c['kms:KeySpec'] = key.keySpec;
    c['kms:KeyUsage'] = key.keyUsage;
    c['kms:KeyOrigin'] = key.origin;
    c['kms:MultiRegion'] = key.multiRegion;
  }
  if (ctx.requestAlias !== undefined) c['kms:RequestAlias'] = ctx.requestAlias;
  const ec = opts.encryptionContext;
  if (ec !== undefined) {
    const keys = Object.keys(ec);
    if (keys.length > 0) c['kms:EncryptionContextKeys'] = keys;
    for (const k of keys) c[`kms:EncryptionContext:${k}`] = ec[k] as string;
  }
  for (const [k, v] of Object.entries(opts.conditions ?? {})) if (v !== undefined) c[k] = v;
  return c;
}
