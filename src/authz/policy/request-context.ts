/**
 * The request context a decision evaluates conditions against: the caller-supplied keys plus
 * the global keys AWS derives from the principal (IAM "AWS global condition context keys").
 */
import { buildContext, type ContextInput } from './conditions.js';

export interface ContextPrincipal {
  arn: string;
  accountId: string;
  type: 'Root' | 'IAMUser' | 'AssumedRole';
  userId: string;
  username?: string;
  roleArn?: string;
  tags?: Record<string, string>;
}

const PRINCIPAL_TYPE = { Root: 'Account', IAMUser: 'User', AssumedRole: 'AssumedRole' } as const;

/**
 * Derived keys: aws:PrincipalArn (for a role session, the role ARN), aws:PrincipalAccount,
 * aws:PrincipalType, aws:userid, aws:username (IAM users only), aws:PrincipalTag/<k>, and
 * kms:CallerAccount (conditions-kms.md). Keys in `input` win over derived ones.
 */
export function requestContext(
  p: ContextPrincipal,
  input: ContextInput,
): Map<string, readonly string[]> {
  const derived: ContextInput = {
    'aws:PrincipalArn': p.type === 'AssumedRole' ? (p.roleArn ?? p.arn) : p.arn,
    'aws:PrincipalAccount': p.accountId,
    'aws:PrincipalType': PRINCIPAL_TYPE[p.type],
    'aws:userid': p.userId,
    'kms:CallerAccount': p.accountId,
  };
  if (p.type === 'IAMUser')
    derived['aws:username'] = p.username ?? p.arn.slice(p.arn.lastIndexOf('/') + 1);
  for (const [k, v] of Object.entries(p.tags ?? {})) derived[`aws:PrincipalTag/${k}`] = v;
  return buildContext(input, buildContext(derived));
}
