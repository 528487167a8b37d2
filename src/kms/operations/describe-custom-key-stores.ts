import type {
  DescribeCustomKeyStoresRequest,
  DescribeCustomKeyStoresResponse,
} from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { authorizeAccount } from '../access/authorize.js';
import {
  loadStore,
  notFoundStore,
  requireStores,
  toListEntry,
} from '../custom-stores/custom-key-store-ops.js';
import { operation } from '../operation.js';
import { decodeMarker, page } from '../pagination.js';

/** All stores of the account and Region (paged), or the one named by id or by name. */
export default operation<DescribeCustomKeyStoresRequest, DescribeCustomKeyStoresResponse>({
  name: 'DescribeCustomKeyStores',
  action: 'kms:DescribeCustomKeyStores',
  readOnly: true,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:DescribeCustomKeyStores');
    requireStores(ctx);
    /* Precondition: at most one of CustomKeyStoreId and CustomKeyStoreName. */
    if (input.CustomKeyStoreId !== undefined && input.CustomKeyStoreName !== undefined)
      throw kmsError(
        'ValidationException',
        'You cannot specify both CustomKeyStoreId and CustomKeyStoreName.',
      );
    if (input.CustomKeyStoreId !== undefined) {
      const store = await loadStore(ctx, input.CustomKeyStoreId);
      return { CustomKeyStores: [toListEntry(store)], Truncated: false };
    }
    const repo = ctx.services.storage.customKeyStores;
    if (input.CustomKeyStoreName !== undefined) {
      const store = await repo.getStoreByName(
        ctx.region,
        ctx.principal.accountId,
        input.CustomKeyStoreName,
      );
      if (store === undefined) throw notFoundStore(input.CustomKeyStoreName);
      return { CustomKeyStores: [toListEntry(store)], Truncated: false };
    }
    const limit = input.Limit ?? 100;
    const after = decodeMarker(input.Marker);
    const rows = await repo.listStores(ctx.region, ctx.principal.accountId, {
      limit: limit + 1,
      after,
    });
    const { items, ...more } = page(rows, limit, (s) => s.customKeyStoreId);
    return { CustomKeyStores: items.map(toListEntry), ...more };
  },
});
