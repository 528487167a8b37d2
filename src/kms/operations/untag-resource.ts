import type { UntagResourceRequest } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';

export default operation<UntagResourceRequest, Record<string, never>>({
  name: 'UntagResource',
  action: 'kms:UntagResource',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'UntagResource',
      action: 'kms:UntagResource',
      aliases: false,
      authz: { conditions: { 'aws:TagKeys': input.TagKeys ?? [] } },
    });
    await ctx.services.storage.deleteTags(key.region, key.keyId, input.TagKeys ?? []);
    return {};
  },
});
