import type { ListGrantsResponse, ListRetirableGrantsRequest } from '@aws-sdk/client-kms';
import { kmsError, missingMember } from '../../errors/aws-errors.js';
import { authorizeAccount } from '../access/authorize.js';
import { grantListEntry } from '../access/grant-principals.js';
import { checkPrincipalArn } from '../access/grants.js';
import { operation } from '../operation.js';
import { decodeMarker, page } from '../pagination.js';
import { grantListLimit } from './list-grants.js';

export default operation<ListRetirableGrantsRequest, ListGrantsResponse>({
  name: 'ListRetirableGrants',
  action: 'kms:ListRetirableGrants',
  readOnly: true,
  async handler(ctx, input) {
    if (input.RetiringServicePrincipal !== undefined)
      throw kmsError(
        'UnsupportedOperationException',
        'Grants for AWS service principals are not supported by keyhold.',
      );
    const retiring = input.RetiringPrincipal;
    if (retiring === undefined) throw missingMember('retiringPrincipal');
    const limit = grantListLimit(input.Limit);
    const after = decodeMarker(input.Marker);
    const account = checkPrincipalArn(retiring, 'RetiringPrincipal');
    // IAM policy only; the authorized resource is the retiring principal, which must be in
    // the caller's account (model docs: "Enter a principal in your Amazon Web Services account").
    await authorizeAccount(ctx, 'kms:ListRetirableGrants');
    if (account !== ctx.principal.accountId)
      throw kmsError(
        'AccessDeniedException',
        `User: ${ctx.principal.arn} is not authorized to perform: kms:ListRetirableGrants on resource: ${retiring}`,
      );
    const rows = await ctx.services.storage.grants.listRetirableGrants(ctx.region, retiring, {
      limit: limit + 1,
      after,
    });
    const { items, ...more } = page(rows, limit, (g) => g.grantId);
    const grants = [];
    for (const g of items) {
      // The key's account for the entry's KeyId ARN (grants may be on other accounts' keys).
      const key = await ctx.services.storage.getKey(g.region, g.keyId);
      if (key !== undefined) grants.push(await grantListEntry(ctx, g, key.accountId));
    }
    return { Grants: grants, ...more };
  },
});
