/**
 * Principals bound to IAM unique ids, as IAM does: when a key policy, trust policy or grant
 * is saved, every user or role ARN it names (of an account keyhold holds, for a principal
 * that exists) is recorded with that principal's unique id (AIDA…, AROA…). Decisions then
 * match the unique id, not the ARN, so a user or role re-created under a deleted one's
 * name is a stranger to the old statements. Shown as AWS shows it: the ARN while the bound
 * principal exists, its unique id once it is gone.
 *
 * An ARN that named nobody when the document was saved stays unbound and matches by ARN
 * (AWS refuses such key policies, and keyhold does too; trust policies and grants accept
 * it, see docs/identities.md).
 */
import type { PolicyDocument, PrincipalSpec, Statement } from '../authz/policy/document.js';
import type { IamRepository } from '../storage/iam-repository.js';
import type { PrincipalBindings } from '../storage/principal-bindings.js';

export type { PrincipalBindings };

const IAM_PRINCIPAL_RE = /^arn:aws:iam::(\d{12}):(user|role)\//;

type Lookup = Pick<IamRepository, 'getUser' | 'getRole'>;

/** The unique id of an existing user or role ARN; undefined for anything else. */
export async function uniqueIdOf(iam: Lookup, arn: string): Promise<string | undefined> {
  const m = IAM_PRINCIPAL_RE.exec(arn);
  if (m === null) return undefined;
  if (m[2] === 'user') return (await iam.getUser(arn))?.userId;
  return (await iam.getRole(arn))?.roleId;
}

/** Bind each user/role ARN of `arns` that names an existing principal. */
export async function bindArns(iam: Lookup, arns: Iterable<string>): Promise<PrincipalBindings> {
  const out: Record<string, string> = {};
  for (const arn of new Set(arns)) {
    const id = await uniqueIdOf(iam, arn);
    if (id !== undefined) out[arn] = id;
  }
  return out;
}

/** The AWS principal ARNs a parsed document names (Principal and NotPrincipal). */
export function awsPrincipalsOf(doc: PolicyDocument): string[] {
  return doc.statements.flatMap((st) => [
    ...(st.principal?.aws ?? []),
    ...(st.notPrincipal?.aws ?? []),
  ]);
}

export async function bindDocument(iam: Lookup, doc: PolicyDocument): Promise<PrincipalBindings> {
  return bindArns(iam, awsPrincipalsOf(doc));
}

const boundDocs = new WeakMap<PolicyDocument, Map<string, PolicyDocument>>();

/**
 * The document decisions use: every bound ARN replaced by its unique id, which matches
 * only the principal that carries it (match.ts). Memoized per parsed document, so the
 * decision memo (keyed by document identity) keeps working.
 */
export function boundDocument(
  doc: PolicyDocument,
  bindings: PrincipalBindings | undefined,
): PolicyDocument {
  if (bindings === undefined || Object.keys(bindings).length === 0) return doc;
  const k = JSON.stringify(bindings);
  let perDoc = boundDocs.get(doc);
  const hit = perDoc?.get(k);
  if (hit !== undefined) return hit;
  const swap = (s: PrincipalSpec | undefined): PrincipalSpec | undefined =>
    s === undefined
      ? undefined
      : { ...s, aws: s.aws.map((a) => (Object.hasOwn(bindings, a) ? (bindings[a] as string) : a)) };
  const bound: PolicyDocument = {
    ...doc,
    statements: doc.statements.map((st): Statement => ({
      ...st,
      principal: swap(st.principal),
      notPrincipal: swap(st.notPrincipal),
    })),
  };
  if (perDoc === undefined) boundDocs.set(doc, (perDoc = new Map()));
  if (perDoc.size > 16) perDoc.clear();
  perDoc.set(k, bound);
  return bound;
}

/**
 * Which bound ARNs no longer name the principal they were bound to (deleted, or re-created
 * with a new unique id): ARN → the unique id to show instead.
 */
export async function orphanedBindings(
  iam: Lookup,
  bindings: PrincipalBindings | undefined,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [arn, id] of Object.entries(bindings ?? {}))
    if ((await uniqueIdOf(iam, arn)) !== id) out[arn] = id;
  return out;
}

/**
 * A policy text as GetKeyPolicy / GetRole show it: unchanged while every bound principal
 * exists; otherwise the orphaned ARNs in Principal / NotPrincipal become their unique ids
 * (the document is then re-serialized, 2-space indented).
 */
export async function displayPolicy(
  iam: Lookup,
  text: string,
  bindings: PrincipalBindings | undefined,
): Promise<string> {
  const orphans = await orphanedBindings(iam, bindings);
  if (Object.keys(orphans).length === 0) return text;
  const doc = JSON.parse(text) as { Statement?: unknown };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  const swap = (v: unknown): unknown =>
    typeof v === 'string' ? (orphans[v] ?? v) : Array.isArray(v) ? v.map(swap) : v;
  for (const st of statements) {
    if (typeof st !== 'object' || st === null) continue;
    for (const el of ['Principal', 'NotPrincipal']) {
      const p = (st as Record<string, unknown>)[el];
      if (typeof p === 'object' && p !== null && 'AWS' in p) {
        const spec = p as Record<string, unknown>;
        spec.AWS = swap(spec.AWS);
      }
    }
  }
  return JSON.stringify(doc, null, 2);
}

/** A grant's principal as ListGrants shows it: the ARN, or the unique id once orphaned. */
export async function displayPrincipal(
  iam: Lookup,
  arn: string,
  boundId: string | undefined,
): Promise<string> {
  if (boundId === undefined) return arn;
  return (await uniqueIdOf(iam, arn)) === boundId ? arn : boundId;
}
