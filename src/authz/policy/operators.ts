/**
 * The IAM condition operator table and operator-name parsing.
 * Source: IAM User Guide, "IAM JSON policy elements: Condition operators"
 * (reference_policies_elements_condition_operators) and "Set operators for multivalued
 * context keys" (reference_policies_condition-single-vs-multi-valued-context-keys).
 */

/** Every base operator: its value family and whether it is a negated matching operator. */
export const CONDITION_OPERATORS = {
  StringEquals: { family: 'string', negated: false },
  StringNotEquals: { family: 'string', negated: true },
  StringEqualsIgnoreCase: { family: 'string', negated: false },
  StringNotEqualsIgnoreCase: { family: 'string', negated: true },
  StringLike: { family: 'string', negated: false },
  StringNotLike: { family: 'string', negated: true },
  NumericEquals: { family: 'numeric', negated: false },
  NumericNotEquals: { family: 'numeric', negated: true },
  NumericLessThan: { family: 'numeric', negated: false },
  NumericLessThanEquals: { family: 'numeric', negated: false },
  NumericGreaterThan: { family: 'numeric', negated: false },
  NumericGreaterThanEquals: { family: 'numeric', negated: false },
  DateEquals: { family: 'date', negated: false },
  DateNotEquals: { family: 'date', negated: true },
  DateLessThan: { family: 'date', negated: false },
  DateLessThanEquals: { family: 'date', negated: false },
  DateGreaterThan: { family: 'date', negated: false },
  DateGreaterThanEquals: { family: 'date', negated: false },
  Bool: { family: 'bool', negated: false },
  BinaryEquals: { family: 'binary', negated: false },
  IpAddress: { family: 'ip', negated: false },
  NotIpAddress: { family: 'ip', negated: true },
  ArnEquals: { family: 'arn', negated: false },
  ArnLike: { family: 'arn', negated: false },
  ArnNotEquals: { family: 'arn', negated: true },
  ArnNotLike: { family: 'arn', negated: true },
  Null: { family: 'null', negated: false },
} as const;

export type ConditionBase = keyof typeof CONDITION_OPERATORS;
export type ValueFamily = (typeof CONDITION_OPERATORS)[ConditionBase]['family'];
export type SetQualifier = 'ForAnyValue' | 'ForAllValues';

/** A condition operator name split into its parts, e.g. `ForAnyValue:StringLikeIfExists`. */
export interface ParsedOperator {
  readonly raw: string;
  readonly base: ConditionBase;
  readonly ifExists: boolean;
  readonly setQualifier: SetQualifier | undefined;
}

function isBase(name: string): name is ConditionBase {
  return Object.prototype.hasOwnProperty.call(CONDITION_OPERATORS, name);
}

/**
 * Parse an operator name; undefined when it is not an IAM operator. Operator names are
 * case-sensitive in IAM (the policy validator rejects `stringequals`). `Null` takes no
 * `IfExists` suffix ("...IfExists ... except the Null condition").
 */
export function parseOperatorName(raw: string): ParsedOperator | undefined {
  let rest = raw;
  let setQualifier: SetQualifier | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const q = rest.slice(0, colon);
    if (q !== 'ForAnyValue' && q !== 'ForAllValues') return undefined;
    setQualifier = q;
    rest = rest.slice(colon + 1);
  }
  let ifExists = false;
  if (rest.endsWith('IfExists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  if (!isBase(rest)) return undefined;
  if (ifExists && rest === 'Null') return undefined;
  return { raw, base: rest, ifExists, setQualifier };
}
