/**
 * Grant principals bound to IAM unique ids (iam/principal-binding.ts): CreateGrant records
 * the unique id of a grantee or retiring principal that is an existing user or role; the
 * grant then applies to that principal (or that role's sessions) only, never to one
 * re-created under the same name. ListGrants shows the ARN while the bound principal
 * exists and its unique id once it is gone, as key policies do.
 */
import type { GrantListEntry } from '@aws-sdk/client-kms';
import type { Principal } from '../../auth/principal.js';
import { uniqueIdOf as callerUniqueId } from '../../authz/policy/match.js';
import { displayPrincipal, uniqueIdOf } from '../../iam/principal-binding.js';
import type { GrantRecord } from '../../storage/grant-repository.js';
import type { Storage } from '../../storage/repository.js';
import { principalMatches, toGrantListEntry } from './grants.js';

type Iam = { services: { storage: Pick<Storage, 'iam'> } };

/** The unique ids to store with a new grant (absent for principals that have none). */
export async function bindGrantPrincipals(
  ctx: Iam,
  grantee: string,
  retiring: string | undefined,
): Promise<Pick<GrantRecord, 'granteePrincipalId' | 'retiringPrincipalId'>> {
  const iam = ctx.services.storage.iam;
  const granteeId = await uniqueIdOf(iam, grantee);
  const retiringId = retiring === undefined ? undefined : await uniqueIdOf(iam, retiring);
  return {
    ...(granteeId !== undefined ? { granteePrincipalId: granteeId } : {}),
    ...(retiringId !== undefined ? { retiringPrincipalId: retiringId } : {}),
  };
}

/** Whether the caller is the principal a grant names (by unique id when it was bound). */
export function grantPrincipalMatches(
  caller: Principal,
  named: string,
  boundId: string | undefined,
): boolean {
  if (boundId !== undefined) return callerUniqueId(caller) === boundId;
  return principalMatches(caller.arn, named);
}

/** A grant as ListGrants / ListRetirableGrants show it. */
export async function grantListEntry(
  ctx: Iam,
  g: GrantRecord,
  keyAccountId: string,
): Promise<GrantListEntry> {
  const iam = ctx.services.storage.iam;
  const entry = toGrantListEntry(g, keyAccountId);
  entry.GranteePrincipal = await displayPrincipal(iam, g.granteePrincipal, g.granteePrincipalId);
  if (g.retiringPrincipal !== undefined)
    entry.RetiringPrincipal = await displayPrincipal(
      iam,
      g.retiringPrincipal,
      g.retiringPrincipalId,
    );
  return entry;
}
