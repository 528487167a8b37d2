import type { ListKeysRequest, ListKeysResponse } from '@aws-sdk/client-kms';
import { authorizeAccount } from '../access/authorize.js';
import { operation } from '../operation.js';
import { decodeMarker, page } from '../pagination.js';

export default operation<ListKeysRequest, ListKeysResponse>({
  name: 'ListKeys',
  action: 'kms:ListKeys',
  readOnly: true,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:ListKeys');
    const limit = input.Limit ?? 100;
    const after = decodeMarker(input.Marker);
    const rows = await ctx.services.storage.listKeys(ctx.region, ctx.principal.accountId, {
      limit: limit + 1,
      after,
    });
    const { items, ...more } = page(rows, limit, (k) => k.keyId);
    return { Keys: items.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...more };
  },
});
