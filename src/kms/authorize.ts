/**
 * The authorization step of every operation: gathers what the decision needs (key policy,
 * the caller's identity policies, the key's grants, the request's condition keys) and asks
 * authz/. Operations call exactly one of these per resource they touch.
 */
import { authorize } from '../authz/authorize.js';
import type { KeyRecord } from '../storage/repository.js';
import type { RequestContext } from './context.js';

/** A condition key's value in the request context. */
export type ConditionValue = string | string[] | number | boolean;

export interface AuthorizeOptions {
  /** The request's encryption context (condition keys and grant constraints). */
  encryptionContext?: Record<string, string> | undefined;
  /** GrantTokens from the request: make a just-created grant usable at once. */
  grantTokens?: string[] | undefined;
  /** Operation-specific condition keys, e.g. `kms:GrantOperations`, `kms:KeySpec`. */
  conditions?: Record<string, ConditionValue | undefined> | undefined;
}

/** Authorize `action` on a KMS key (key policy + identity policies + grants). */
export async function authorizeKey(
  ctx: RequestContext,
  key: KeyRecord,
  action: string,
  _opts: AuthorizeOptions = {},
): Promise<void> {
  authorize({ principal: ctx.principal, action, resource: key });
}

/** Authorize an account-level action (no key: CreateKey, ListKeys, GenerateRandom, ...): identity policies only. */
export async function authorizeAccount(
  ctx: RequestContext,
  action: string,
  _opts: AuthorizeOptions = {},
): Promise<void> {
  authorize({ principal: ctx.principal, action });
}

/** Authorize the alias half of an alias operation (identity policies on the alias ARN). */
export async function authorizeAlias(
  ctx: RequestContext,
  aliasArn: string,
  action: string,
): Promise<void> {
  authorize({
    principal: ctx.principal,
    action,
    resource: { arn: aliasArn, accountId: ctx.principal.accountId },
  });
}
