/**
 * The authorization seam: one call per operation, from the operation runner.
 * For now (core issue): the account's own principals may act on the account's keys, and
 * nobody may act on another account's keys. Key policies, IAM policies and grants plug in
 * here (authorization issue).
 */
import type { Principal } from '../auth/principal.js';
import { kmsError } from '../errors/aws-errors.js';

export interface AuthorizationRequest {
  principal: Principal;
  /** IAM action, e.g. `kms:Encrypt`. */
  action: string;
  /** The key the action is on, if any; account-level actions (CreateKey, ListKeys) have none. */
  resource?: { arn: string; accountId: string } | undefined;
}

export function authorize(req: AuthorizationRequest): void {
  const { principal, action, resource } = req;
  if (resource === undefined || resource.accountId === principal.accountId) return;
  throw kmsError(
    'AccessDeniedException',
    `User: ${principal.arn} is not authorized to perform: ${action} on resource: ${resource.arn} because no resource-based policy allows the ${action} action`,
  );
}
