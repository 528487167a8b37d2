import type { ListGrantsRequest, ListGrantsResponse } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { grantListEntry } from '../access/grant-principals.js';
import { checkGrantId } from '../access/grants.js';
import { operation } from '../operation.js';
import { decodeMarker, page } from '../pagination.js';
import { useKey } from '../keys/use-key.js';

/** ListGrants / ListRetirableGrants: Limit 1–100, default 50 (model docs). */
export const MAX_GRANT_LIST_LIMIT = 100;

export function grantListLimit(limit: number | undefined): number {
  if (limit !== undefined && limit > MAX_GRANT_LIST_LIMIT)
    throw kmsError(
      'ValidationException',
      `1 validation error detected: Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to ${MAX_GRANT_LIST_LIMIT}`,
    );
  return limit ?? 50;
}

export default operation<ListGrantsRequest, ListGrantsResponse>({
  name: 'ListGrants',
  action: 'kms:ListGrants',
  readOnly: true,
  async handler(ctx, input) {
    if (input.GranteeServicePrincipal !== undefined)
      throw kmsError(
        'UnsupportedOperationException',
        'Grants for AWS service principals are not supported by keyhold.',
      );
    const limit = grantListLimit(input.Limit);
    const after = decodeMarker(input.Marker);
    if (input.GrantId !== undefined) checkGrantId(input.GrantId);
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'ListGrants',
      action: 'kms:ListGrants',
      aliases: false,
      authz: { conditions: { 'kms:GrantIsForAWSResource': false } },
    });
    const rows = await ctx.services.storage.grants.listGrants(
      key.region,
      key.keyId,
      { limit: limit + 1, after },
      { grantId: input.GrantId, granteePrincipal: input.GranteePrincipal },
    );
    const { items, ...more } = page(rows, limit, (g) => g.grantId);
    const grants = [];
    for (const g of items) grants.push(await grantListEntry(ctx, g, key.accountId));
    return { Grants: grants, ...more };
  },
});
