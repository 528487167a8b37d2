/**
 * `Principal` / `NotPrincipal` parsing. KMS answers an invalid principal with
 * "Policy contains a statement with one or more invalid principals." (PutKeyPolicy).
 * Valid AWS principals: IAM User Guide "AWS JSON policy elements: Principal".
 */
import {
  isObject,
  malformed,
  stringList,
  type PolicyKind,
  type PrincipalSpec,
} from './document-base.js';

const INVALID = 'Policy contains a statement with one or more invalid principals.';

/** Account id, account root, user, role, assumed-role session, federated user, or `*`. */
const AWS_PRINCIPAL =
  /^(?:\*|\d{12}|arn:aws[a-z-]*:iam::\d{12}:(?:root|user\/.+|role\/.+)|arn:aws[a-z-]*:sts::\d{12}:(?:assumed-role\/[^/]+\/.+|federated-user\/.+))$/;

const PRINCIPAL_TYPES = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser']);

/** Normalize an AWS principal entry: a bare account id means the account root. */
export function normalizeAwsPrincipal(p: string): string {
  return /^\d{12}$/.test(p) ? `arn:aws:iam::${p}:root` : p;
}

export function parsePrincipal(v: unknown, at: string, _kind: PolicyKind): PrincipalSpec {
  if (v === '*') return { wildcard: true, aws: [], service: [], federated: [], canonicalUser: [] };
  if (!isObject(v)) return malformed(INVALID);
  const keys = Object.keys(v);
  if (keys.length === 0) malformed(INVALID);
  for (const k of keys) if (!PRINCIPAL_TYPES.has(k)) malformed(INVALID);
  const list = (k: string): string[] =>
    v[k] === undefined ? [] : stringList(v[k], `${at}: Principal ${k}`);
  const awsRaw = list('AWS');
  for (const p of awsRaw) if (!AWS_PRINCIPAL.test(p)) malformed(INVALID);
  return {
    wildcard: awsRaw.includes('*'),
    aws: awsRaw.filter((p) => p !== '*').map(normalizeAwsPrincipal),
    service: list('Service'),
    federated: list('Federated'),
    canonicalUser: list('CanonicalUser'),
  };
}
