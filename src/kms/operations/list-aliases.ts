import type { ListAliasesRequest, ListAliasesResponse } from '@aws-sdk/client-kms';
import { authorizeAccount } from '../access/authorize.js';
import { aliasArn } from '../keys/arn.js';
import { operation } from '../operation.js';
import { decodeMarker, page } from '../pagination.js';
import { resolveKey } from '../keys/key-resolver.js';

export default operation<ListAliasesRequest, ListAliasesResponse>({
  name: 'ListAliases',
  action: 'kms:ListAliases',
  readOnly: true,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:ListAliases');
    const limit = input.Limit ?? 50;
    const after = decodeMarker(input.Marker);
    const target =
      input.KeyId === undefined
        ? undefined
        : await resolveKey(ctx, input.KeyId, { aliases: false });
    const rows = await ctx.services.storage.listAliases(
      ctx.region,
      target?.accountId ?? ctx.principal.accountId,
      { limit: limit + 1, after },
      target?.keyId,
    );
    const { items, ...more } = page(rows, limit, (a) => a.aliasName);
    return {
      Aliases: items.map((a) => ({
        AliasName: a.aliasName,
        AliasArn: aliasArn(a.region, a.accountId, a.aliasName),
        TargetKeyId: a.targetKeyId,
        CreationDate: a.creationDate,
        LastUpdatedDate: a.lastUpdatedDate,
      })),
      ...more,
    };
  },
});
