/**
 * Condition evaluation with AWS's exact semantics.
 * - IAM "Condition operators": a key absent from the request context does not match, so the
 *   condition is false — except negated matching operators (StringNotLike, ArnNotLike, ...),
 *   which are true when the key is absent; `...IfExists` is true when absent; `Null` tests
 *   presence.
 * - IAM "Conditions with multiple context keys or values": operators AND, keys AND, multiple
 *   values for one key OR, and for a negated operator the values NOR.
 * - IAM "Set operators for multivalued context keys": ForAllValues is true when every request
 *   value matches (and when the key is absent or empty); ForAnyValue needs one matching value
 *   (false when absent or empty). With a negated operator the negation applies per value.
 */
import type { ConditionClause } from './document-base.js';
import { globRegex, substitute, type VariableLookup } from './glob.js';
import { cidrContains, parseCidr } from './ip.js';
import { CONDITION_OPERATORS, type ConditionBase } from './operators.js';

/** Request context: lower-cased key → values (single-valued keys hold one value). */
export type ConditionContext = ReadonlyMap<string, readonly string[]>;
export type ContextInput = Record<
  string,
  string | readonly string[] | number | boolean | undefined
>;

/** Build a case-insensitive context from AWS-cased keys; numbers/booleans become strings. */
export function buildContext(
  input: ContextInput,
  into = new Map<string, readonly string[]>(),
): Map<string, readonly string[]> {
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    into.set(k.toLowerCase(), Array.isArray(v) ? (v as readonly string[]) : [String(v)]);
  }
  return into;
}

export function contextLookup(ctx: ConditionContext): VariableLookup {
  return (keyLower) => {
    const v = ctx.get(keyLower);
    return v !== undefined && v.length === 1 ? v[0] : undefined;
  };
}

/** Negated operator → the positive operator whose match it negates. */
const POSITIVE: Partial<Record<ConditionBase, ConditionBase>> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  NumericNotEquals: 'NumericEquals',
  DateNotEquals: 'DateEquals',
  NotIpAddress: 'IpAddress',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
};

function num(s: string): number | undefined {
  if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s)) return undefined;
  return Number(s);
}

/** ISO 8601 date/time or epoch seconds (IAM "Date condition operators"). */
export function parseDate(s: string): number | undefined {
  if (/^\s*-?\d+(\.\d+)?\s*$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

function compare(a: number | undefined, b: number | undefined, op: string): boolean {
  if (a === undefined || b === undefined) return false;
  if (op.endsWith('LessThanEquals')) return a <= b;
  if (op.endsWith('LessThan')) return a < b;
  if (op.endsWith('GreaterThanEquals')) return a >= b;
  if (op.endsWith('GreaterThan')) return a > b;
  return a === b;
}

/** ARN operators compare the six colon-delimited components separately (IAM "ARN condition operators"). */
function arnMatch(
  value: string,
  pattern: string,
  variables: boolean,
  lookup: VariableLookup,
): boolean {
  const expanded = substitute(pattern, variables, lookup);
  if (expanded === undefined) return false;
  const split = (s: string): string[] => {
    const p = s.split(':');
    return p.length <= 6 ? p : [...p.slice(0, 5), p.slice(5).join(':')];
  };
  const pat = split(pattern);
  const val = split(value);
  if (pat.length < 6)
    return globRegex(pattern, { variables, ignoreCase: false, lookup })?.test(value) ?? false;
  if (val.length !== 6) return false;
  return pat.every(
    (seg, i) =>
      globRegex(seg, { variables, ignoreCase: false, lookup })?.test(val[i] as string) ?? false,
  );
}

/** Does one request value match one policy value under a positive operator? */
function matchOne(
  base: ConditionBase,
  r: string,
  p: string,
  variables: boolean,
  lookup: VariableLookup,
): boolean {
  switch (base) {
    case 'StringEquals':
      return substitute(p, variables, lookup) === r;
    case 'StringEqualsIgnoreCase':
      return substitute(p, variables, lookup)?.toLowerCase() === r.toLowerCase();
    case 'StringLike':
      return globRegex(p, { variables, ignoreCase: false, lookup })?.test(r) ?? false;
    case 'Bool':
      return r.toLowerCase() === p.toLowerCase();
    case 'BinaryEquals':
      return Buffer.from(r, 'base64').equals(Buffer.from(p, 'base64'));
    case 'IpAddress': {
      const cidr = parseCidr(p);
      return cidr !== undefined && cidrContains(cidr, r);
    }
    case 'ArnEquals':
    case 'ArnLike':
      return arnMatch(r, p, variables, lookup);
    default: {
      const family = CONDITION_OPERATORS[base].family;
      if (family === 'numeric') return compare(num(r), num(p), base);
      if (family === 'date') return compare(parseDate(r), parseDate(p), base);
      return false;
    }
  }
}

/** Evaluate one key under one operator against the request context. */
export function evaluateClause(
  clause: ConditionClause,
  ctx: ConditionContext,
  variables: boolean,
): boolean {
  const { base, ifExists, setQualifier } = clause.operator;
  const req = ctx.get(clause.keyLower);
  const present = req !== undefined && req.length > 0;
  if (base === 'Null') return clause.values.some((v) => (v.toLowerCase() === 'true') !== present);
  if (!present) {
    if (setQualifier === 'ForAllValues') return true;
    if (setQualifier === 'ForAnyValue') return ifExists;
    return ifExists || CONDITION_OPERATORS[base].negated;
  }
  const positive = POSITIVE[base];
  const negated = positive !== undefined;
  const op = positive ?? base;
  const lookup = contextLookup(ctx);
  const hit = (r: string): boolean =>
    clause.values.some((p) => matchOne(op, r, p, variables, lookup));
  if (setQualifier === 'ForAllValues') return req.every((r) => hit(r) !== negated);
  if (setQualifier === 'ForAnyValue') return req.some((r) => hit(r) !== negated);
  return req.some(hit) !== negated;
}

/** The outcome of one clause, for explanations. */
export interface ConditionResult {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
  readonly requestValues: readonly string[] | undefined;
  readonly result: boolean;
}

/** All clauses must hold (AND). Returns per-clause results for `authz explain`. */
export function evaluateConditions(
  clauses: readonly ConditionClause[],
  ctx: ConditionContext,
  variables: boolean,
): { ok: boolean; results: ConditionResult[] } {
  const results: ConditionResult[] = [];
  let ok = true;
  for (const c of clauses) {
    const result = evaluateClause(c, ctx, variables);
    results.push({
      operator: c.operator.raw,
      key: c.key,
      values: c.values,
      requestValues: ctx.get(c.keyLower),
      result,
    });
    if (!result) ok = false;
  }
  return { ok, results };
}

/**
 * Policy-side value check done at parse time: numeric, date and IP operators need values of
 * their type (IAM policy validation rejects e.g. an invalid CIDR in IpAddress).
 */
export function invalidPolicyValue(base: ConditionBase, value: string): boolean {
  const family = CONDITION_OPERATORS[base].family;
  if (family === 'numeric') return num(value) === undefined;
  if (family === 'date') return parseDate(value) === undefined;
  if (family === 'ip') return parseCidr(value) === undefined;
  if (family === 'null') return !/^(true|false)$/i.test(value);
  return false;
}
