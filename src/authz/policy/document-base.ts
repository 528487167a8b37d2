/**
 * The parsed policy document's types and the JSON helpers its parsers share: document.ts
 * (the grammar), principal-spec.ts and conditions.ts import them from here, so none of
 * them imports another in a loop. document.ts re-exports all of it.
 */
import { kmsError } from '../../errors/aws-errors.js';
import type { ParsedOperator } from './operators.js';

export type PolicyKind = 'key' | 'identity' | 'trust';
export type Effect = 'Allow' | 'Deny';

/** A normalized `Principal` / `NotPrincipal` value. `wildcard` is `"*"` or `{"AWS":"*"}`. */
export interface PrincipalSpec {
  readonly wildcard: boolean;
  /** AWS principals as ARNs; bare account ids are normalized to `arn:aws:iam::<id>:root`. */
  readonly aws: readonly string[];
  readonly service: readonly string[];
  readonly federated: readonly string[];
  readonly canonicalUser: readonly string[];
}

/** One key/values pair under one operator: `{"StringEquals": {"kms:CallerAccount": [..]}}`. */
export interface ConditionClause {
  readonly operator: ParsedOperator;
  /** The key as written in the policy. */
  readonly key: string;
  /** Lower-cased key: condition key names are case-insensitive (IAM "Condition" element). */
  readonly keyLower: string;
  /** Policy values as strings (JSON numbers/booleans are stringified, as IAM does). */
  readonly values: readonly string[];
}

export interface Statement {
  /** Position in the Statement array, for explanations when there is no Sid. */
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: Effect;
  readonly principal: PrincipalSpec | undefined;
  readonly notPrincipal: PrincipalSpec | undefined;
  readonly action: readonly string[] | undefined;
  readonly notAction: readonly string[] | undefined;
  readonly resource: readonly string[] | undefined;
  readonly notResource: readonly string[] | undefined;
  readonly conditions: readonly ConditionClause[];
  /**
   * False for a key-policy statement missing Action or Resource: KMS accepts such a
   * statement but it "has no effect" (KMS Developer Guide key-policy-overview.md).
   */
  readonly effective: boolean;
}

export interface PolicyDocument {
  readonly kind: PolicyKind;
  /** `2012-10-17`, or `2008-10-17` (also the IAM default when Version is omitted). */
  readonly version: '2012-10-17' | '2008-10-17';
  readonly id: string | undefined;
  readonly statements: readonly Statement[];
}

/** Throw the one error a bad policy produces. */
export function malformed(message: string): never {
  throw kmsError('MalformedPolicyDocumentException', message);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `"x"` or `["x","y"]` → string[]; anything else is malformed. */
export function stringList(v: unknown, what: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) malformed(`${what} must not be empty`);
  for (const item of list) {
    if (typeof item !== 'string' || item.length === 0)
      malformed(`${what} must be a non-empty string or an array of strings`);
  }
  return list as string[];
}
