import type { TagResourceRequest } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { checkTagLimit, normalizeTags, requestTagConditions } from '../keys/tags.js';
import { useKey } from '../keys/use-key.js';

export default operation<TagResourceRequest, Record<string, never>>({
  name: 'TagResource',
  action: 'kms:TagResource',
  readOnly: false,
  async handler(ctx, input) {
    const tags = normalizeTags(input.Tags);
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'TagResource',
      action: 'kms:TagResource',
      aliases: false,
      authz: { conditions: requestTagConditions(tags) },
    });
    const existing = await ctx.services.storage.listTags(key.region, key.keyId);
    const names = new Set([...existing.map((t) => t.tagKey), ...tags.map((t) => t.tagKey)]);
    checkTagLimit(names.size);
    await ctx.services.storage.putTags(key.region, key.keyId, tags);
    return {};
  },
});
