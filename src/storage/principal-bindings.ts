/**
 * How principal bindings (user/role ARN → IAM unique id, see iam/principal-binding.ts) are
 * stored: one JSON object per document, in a TEXT column next to it; NULL when none.
 */

/** ARN → unique id of the principal it named when the document was saved. */
export type PrincipalBindings = Readonly<Record<string, string>>;

export function encodeBindings(b: PrincipalBindings | undefined): string | null {
  return b === undefined || Object.keys(b).length === 0 ? null : JSON.stringify(b);
}

export function decodeBindings(v: unknown): PrincipalBindings | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return JSON.parse(v) as PrincipalBindings;
}

/** A role's trust-policy bindings as an optional field: absent, not undefined, when none. */
export function optionalBindings(v: unknown): { trustPolicyPrincipals?: PrincipalBindings } {
  const b = decodeBindings(v);
  return b === undefined ? {} : { trustPolicyPrincipals: b };
}

const BINDABLE_RE = /^arn:aws:iam::\d{12}:(user|role)\//;

/**
 * The user and role ARNs a policy text names in Principal / NotPrincipal (lenient: a text
 * that is not a JSON policy names none). Used by the migrations that bind existing data.
 */
export function bindablePrincipalsOf(text: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  if (typeof doc !== 'object' || doc === null) return [];
  const st = (doc as { Statement?: unknown }).Statement;
  const out = new Set<string>();
  for (const s of Array.isArray(st) ? st : [st]) {
    if (typeof s !== 'object' || s === null) continue;
    for (const el of ['Principal', 'NotPrincipal']) {
      const p = (s as Record<string, unknown>)[el];
      if (typeof p !== 'object' || p === null) continue;
      const aws = (p as Record<string, unknown>).AWS;
      for (const a of Array.isArray(aws) ? aws : [aws])
        if (typeof a === 'string' && BINDABLE_RE.test(a)) out.add(a);
    }
  }
  return [...out];
}

/** Whether an ARN names an IAM user or role (the principals that have unique ids). */
export function isBindableArn(arn: string): boolean {
  return BINDABLE_RE.test(arn);
}
