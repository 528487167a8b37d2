/**
 * Optional secondary authorization (spec: "Authorization" — the proxy MAY authorize on
 * requestMetadata and answers AccessDeniedException). Rules match the caller's principal
 * (awsPrincipalArn), the KMS operation (kmsOperation), the proxy operation, the external
 * key id and the KMS key ARN, with `*` / `?` wildcards. An explicit deny wins; otherwise any
 * matching allow allows; otherwise `default` decides. GetHealthStatus is never subject to it
 * (spec: health MUST be excluded from secondary authorization).
 */
import { ConfigError } from '../config/config.js';

export const XKS_OPERATIONS = ['GetKeyMetadata', 'Encrypt', 'Decrypt'] as const;
export type XksKeyOperation = (typeof XKS_OPERATIONS)[number];

export interface AuthorizationRule {
  effect: 'allow' | 'deny';
  principals?: string[];
  kmsOperations?: string[];
  operations?: XksKeyOperation[];
  keys?: string[];
  kmsKeyArns?: string[];
}

export interface AuthorizationPolicy {
  defaultEffect: 'allow' | 'deny';
  rules: AuthorizationRule[];
}

export interface AuthorizationRequest {
  operation: XksKeyOperation;
  keyId: string;
  awsPrincipalArn: string;
  kmsOperation: string;
  kmsKeyArn?: string | undefined;
}

/** True when the request is allowed. */
export function isAuthorized(
  policy: AuthorizationPolicy | undefined,
  req: AuthorizationRequest,
): boolean {
  if (policy === undefined) return true;
  const matching = policy.rules.filter((r) => matches(r, req));
  if (matching.some((r) => r.effect === 'deny')) return false;
  if (matching.some((r) => r.effect === 'allow')) return true;
  return policy.defaultEffect === 'allow';
}

function matches(r: AuthorizationRule, q: AuthorizationRequest): boolean {
  return (
    any(r.principals, q.awsPrincipalArn) &&
    any(r.kmsOperations, q.kmsOperation) &&
    any(r.operations, q.operation) &&
    any(r.keys, q.keyId) &&
    any(r.kmsKeyArns, q.kmsKeyArn)
  );
}

/** An absent list matches everything; a present list needs a value that one pattern matches. */
function any(patterns: readonly string[] | undefined, value: string | undefined): boolean {
  if (patterns === undefined) return true;
  if (value === undefined) return false;
  return patterns.some((p) => glob(p).test(value));
}

const globCache = new Map<string, RegExp>();
function glob(p: string): RegExp {
  let re = globCache.get(p);
  if (re === undefined) {
    const body = p
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 's');
    globCache.set(p, re);
  }
  return re;
}

/** Validate the `authorization` section of the config file. */
export function parseAuthorization(v: unknown): AuthorizationPolicy {
  const o = v as { default?: unknown; rules?: unknown } | null;
  if (o === null || typeof o !== 'object') throw new ConfigError('authorization must be an object');
  const def = o.default ?? 'deny';
  if (def !== 'allow' && def !== 'deny')
    throw new ConfigError("authorization.default must be 'allow' or 'deny'");
  if (!Array.isArray(o.rules)) throw new ConfigError('authorization.rules must be an array');
  const rules = o.rules.map((r: unknown, i: number): AuthorizationRule => {
    const x = r as Record<string, unknown> | null;
    const where = `authorization.rules[${i}]`;
    if (x === null || typeof x !== 'object') throw new ConfigError(`${where} must be an object`);
    if (x.effect !== 'allow' && x.effect !== 'deny')
      throw new ConfigError(`${where}.effect must be 'allow' or 'deny'`);
    const known = new Set([
      'effect',
      'principals',
      'kmsOperations',
      'operations',
      'keys',
      'kmsKeyArns',
    ]);
    for (const k of Object.keys(x))
      if (!known.has(k)) throw new ConfigError(`${where}: unknown field '${k}'`);
    const rule: AuthorizationRule = { effect: x.effect };
    for (const k of ['principals', 'kmsOperations', 'operations', 'keys', 'kmsKeyArns'] as const) {
      const list = x[k];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
        throw new ConfigError(`${where}.${k} must be an array of strings`);
      }
      if (k === 'operations') {
        const bad = list.filter(
          (s) => !(XKS_OPERATIONS as readonly string[]).includes(s as string),
        );
        if (bad.length > 0)
          throw new ConfigError(
            `${where}.operations: unknown ${bad.join(', ')} (one of ${XKS_OPERATIONS.join(', ')})`,
          );
        rule.operations = list as XksKeyOperation[];
      } else {
        rule[k] = list as string[];
      }
    }
    return rule;
  });
  return { defaultEffect: def, rules };
}
