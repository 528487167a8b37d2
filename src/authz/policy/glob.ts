/**
 * Wildcard (`*`, `?`) patterns and policy variables, compiled to cached RegExps.
 * Policy variables: IAM User Guide "IAM policy elements: Variables and tags"
 * (reference_policies_variables) — `${aws:username}`, `${aws:PrincipalTag/k}`, the special
 * characters `${*}` `${?}` `${$}`, and defaults `${aws:username, 'anonymous'}`. Variables are
 * only recognized in Version 2012-10-17 policies; in 2008-10-17 they are literal text.
 * A variable whose key is absent (and has no default) makes that value match nothing.
 */

/** Looks a context key up case-insensitively; returns its single string value or undefined. */
export type VariableLookup = (keyLower: string) => string | undefined;

const VAR = /\$\{([^}]*)\}/g;
const MAX_CACHE = 4096;
const regexCache = new Map<string, RegExp>();
const plainGlobs = new Map<string, RegExp>();

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function globSource(literalText: string): string {
  let out = '';
  for (const ch of literalText) out += ch === '*' ? '.*' : ch === '?' ? '.' : escapeRegex(ch);
  return out;
}

function cached(source: string, flags: string): RegExp {
  const k = `${flags}/${source}`;
  let re = regexCache.get(k);
  if (re === undefined) {
    if (regexCache.size >= MAX_CACHE) regexCache.clear();
    re = new RegExp(`^${source}$`, flags);
    regexCache.set(k, re);
  }
  return re;
}

/** Resolve one `${...}` body to literal text, or undefined when the key is absent. */
function resolveVariable(body: string, lookup: VariableLookup): string | undefined {
  const trimmed = body.trim();
  if (trimmed === '*' || trimmed === '?' || trimmed === '$') return trimmed;
  const m = /^([^,]+?)\s*(?:,\s*'([^']*)'\s*)?$/.exec(trimmed);
  if (m === null) return undefined;
  const value = lookup((m[1] as string).toLowerCase());
  return value ?? m[2];
}

/**
 * Expand a pattern into pieces: `{ glob }` text where `*` `?` are wildcards, and `{ lit }`
 * text from variables (always literal, so `${*}` is a literal asterisk).
 */
function expand(
  pattern: string,
  variables: boolean,
  lookup: VariableLookup,
): { text: string; literal: boolean }[] | undefined {
  if (!variables || !pattern.includes('${')) return [{ text: pattern, literal: false }];
  const parts: { text: string; literal: boolean }[] = [];
  let last = 0;
  for (const m of pattern.matchAll(VAR)) {
    const at = m.index;
    parts.push({ text: pattern.slice(last, at), literal: false });
    const v = resolveVariable(m[1] as string, lookup);
    if (v === undefined) return undefined;
    parts.push({ text: v, literal: true });
    last = at + m[0].length;
  }
  parts.push({ text: pattern.slice(last), literal: false });
  return parts;
}

/** A pattern with `*`/`?` wildcards, after variable substitution; undefined = unresolvable. */
export function globRegex(
  pattern: string,
  opts: { variables: boolean; ignoreCase: boolean; lookup: VariableLookup },
): RegExp | undefined {
  const parts = expand(pattern, opts.variables, opts.lookup);
  if (parts === undefined) return undefined;
  if (parts.length === 1 && parts[0]?.literal === false) {
    // No variables: the compiled pattern depends on the text alone.
    const k = `${opts.ignoreCase ? 'i' : 's'}/${pattern}`;
    let re = plainGlobs.get(k);
    if (re === undefined) {
      if (plainGlobs.size >= MAX_CACHE) plainGlobs.clear();
      re = new RegExp(`^${globSource(pattern)}$`, opts.ignoreCase ? 'is' : 's');
      plainGlobs.set(k, re);
    }
    return re;
  }
  const source = parts.map((p) => (p.literal ? escapeRegex(p.text) : globSource(p.text))).join('');
  return cached(source, opts.ignoreCase ? 'is' : 's');
}

/** A literal value after variable substitution (for the *Equals operators). */
export function substitute(
  pattern: string,
  variables: boolean,
  lookup: VariableLookup,
): string | undefined {
  const parts = expand(pattern, variables, lookup);
  return parts === undefined ? undefined : parts.map((p) => p.text).join('');
}

/** Compiled action globs keyed by the raw pattern: no per-call regex-source building. */
const actionGlobs = new Map<string, RegExp>();

/** Case-insensitive wildcard match without variables (actions). */
export function matchesGlobIgnoreCase(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*') && !pattern.includes('?'))
    return pattern.length === value.length && pattern.toLowerCase() === value.toLowerCase();
  let re = actionGlobs.get(pattern);
  if (re === undefined) {
    if (actionGlobs.size >= MAX_CACHE) actionGlobs.clear();
    re = new RegExp(`^${globSource(pattern)}$`, 'is');
    actionGlobs.set(pattern, re);
  }
  return re.test(value);
}
