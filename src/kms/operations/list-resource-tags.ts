import type { ListResourceTagsRequest, ListResourceTagsResponse } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { decodeMarker, page } from '../pagination.js';
import { useKey } from '../keys/use-key.js';

export default operation<ListResourceTagsRequest, ListResourceTagsResponse>({
  name: 'ListResourceTags',
  action: 'kms:ListResourceTags',
  readOnly: true,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'ListResourceTags',
      action: 'kms:ListResourceTags',
      aliases: false,
    });
    const limit = input.Limit ?? 50;
    const after = decodeMarker(input.Marker);
    const all = await ctx.services.storage.listTags(key.region, key.keyId);
    const rows = all.filter((t) => after === undefined || t.tagKey > after).slice(0, limit + 1);
    const { items, ...more } = page(rows, limit, (t) => t.tagKey);
    return { Tags: items.map((t) => ({ TagKey: t.tagKey, TagValue: t.tagValue })), ...more };
  },
});
