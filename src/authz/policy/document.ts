/**
 * Parsed, normalized policy documents (key policies, IAM identity policies, trust policies)
 * and `parsePolicy`, which enforces AWS's grammar rules.
 * Grammar: IAM User Guide "IAM JSON policy element reference" and "Grammar of the IAM JSON
 * policy language"; KMS specifics: KMS Developer Guide key-policy-overview.md.
 */
import {
  isObject,
  malformed,
  stringList,
  type ConditionClause,
  type PolicyDocument,
  type PolicyKind,
  type Statement,
} from './document-base.js';
import { parseOperatorName } from './operators.js';
import { invalidPolicyValue } from './conditions.js';
import { parsePrincipal } from './principal-spec.js';

export {
  isObject,
  malformed,
  stringList,
  type ConditionClause,
  type Effect,
  type PolicyDocument,
  type PolicyKind,
  type PrincipalSpec,
  type Statement,
} from './document-base.js';

const TOP_LEVEL = new Set(['Version', 'Id', 'Statement']);
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);

/**
 * Parse and validate a policy document.
 * @throws KmsError `MalformedPolicyDocumentException` with a message naming the rule broken.
 */
export function parsePolicy(text: string, kind: PolicyKind): PolicyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    malformed('The policy is not valid JSON');
  }
  if (!isObject(raw)) malformed('The policy must be a JSON object');
  for (const k of Object.keys(raw)) {
    if (!TOP_LEVEL.has(k)) malformed(`Unknown policy element: ${k}`);
  }
  const version = raw['Version'] ?? '2008-10-17';
  if (version !== '2012-10-17' && version !== '2008-10-17')
    malformed('Version must be "2012-10-17" or "2008-10-17"');
  const id = raw['Id'];
  if (id !== undefined && typeof id !== 'string') malformed('Id must be a string');
  const st = raw['Statement'];
  if (st === undefined) malformed('The policy must contain a Statement element');
  const list: unknown[] = Array.isArray(st) ? st : [st];
  if (list.length === 0) malformed('The policy must contain at least one statement');
  const statements = list.map((s, i) => parseStatement(s, i, kind));
  return { kind, version, id, statements };
}

function parseStatement(s: unknown, index: number, kind: PolicyKind): Statement {
  const at = `Statement ${index}`;
  if (!isObject(s)) malformed(`${at} must be a JSON object`);
  for (const k of Object.keys(s)) {
    if (!STATEMENT_KEYS.has(k)) malformed(`${at} has an unknown element: ${k}`);
  }
  const sid = s['Sid'];
  if (sid !== undefined && typeof sid !== 'string') malformed(`${at}: Sid must be a string`);
  const effect = s['Effect'];
  if (effect !== 'Allow' && effect !== 'Deny') malformed(`${at}: Effect must be Allow or Deny`);
  const both = (a: string, b: string): void => {
    if (s[a] !== undefined && s[b] !== undefined)
      malformed(`${at} cannot contain both ${a} and ${b}`);
  };
  both('Principal', 'NotPrincipal');
  both('Action', 'NotAction');
  both('Resource', 'NotResource');
  const hasPrincipal = s['Principal'] !== undefined || s['NotPrincipal'] !== undefined;
  if (kind === 'identity' && hasPrincipal)
    malformed(`${at}: identity-based policies must not contain Principal or NotPrincipal`);
  if (kind !== 'identity' && !hasPrincipal)
    malformed(`${at} must contain a Principal or NotPrincipal`);
  const opt = (name: string): string[] | undefined =>
    s[name] === undefined ? undefined : stringList(s[name], `${at}: ${name}`);
  const action = opt('Action');
  const notAction = opt('NotAction');
  const resource = opt('Resource');
  const notResource = opt('NotResource');
  const hasAction = action !== undefined || notAction !== undefined;
  const hasResource = resource !== undefined || notResource !== undefined;
  // KMS accepts a key-policy statement without Action or Resource but it has no effect
  // (key-policy-overview.md); IAM rejects identity policies missing them.
  if (kind !== 'key' && !hasAction) malformed(`${at} must contain an Action or NotAction`);
  if (kind === 'identity' && !hasResource)
    malformed(`${at} must contain a Resource or NotResource`);
  return {
    index,
    sid,
    effect,
    principal: s['Principal'] === undefined ? undefined : parsePrincipal(s['Principal'], at, kind),
    notPrincipal:
      s['NotPrincipal'] === undefined ? undefined : parsePrincipal(s['NotPrincipal'], at, kind),
    action,
    notAction,
    resource,
    notResource,
    conditions: s['Condition'] === undefined ? [] : parseConditions(s['Condition'], at, kind),
    effective: hasAction && (hasResource || kind === 'trust'),
  };
}

function conditionValues(v: unknown, where: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) malformed(`${where} must have at least one value`);
  return list.map((item) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    return malformed(`${where} values must be strings, numbers or booleans`);
  });
}

function parseConditions(c: unknown, at: string, kind: PolicyKind): ConditionClause[] {
  if (!isObject(c)) malformed(`${at}: Condition must be a JSON object`);
  const out: ConditionClause[] = [];
  for (const [opName, block] of Object.entries(c)) {
    const operator = parseOperatorName(opName);
    if (operator === undefined) malformed(`${at}: unknown condition operator ${opName}`);
    if (!isObject(block)) malformed(`${at}: ${opName} must map condition keys to values`);
    for (const [key, v] of Object.entries(block)) {
      const keyLower = key.toLowerCase();
      // KMS refuses ForAllValues on the single-valued kms:EncryptionContext:<k> keys
      // (KMS Developer Guide conditions-kms.md).
      if (
        kind === 'key' &&
        operator.setQualifier === 'ForAllValues' &&
        keyLower.startsWith('kms:encryptioncontext:')
      )
        malformed(
          'OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.',
        );
      const values = conditionValues(v, `${at}: ${opName} ${key}`);
      const bad = values.find((x) => invalidPolicyValue(operator.base, x));
      if (bad !== undefined) malformed(`${at}: invalid value for ${opName}: ${bad}`);
      out.push({ operator, key, keyLower, values });
    }
  }
  return out;
}
