import type { UpdateKeyDescriptionRequest } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';
import { updateKey } from '../keys/update-key.js';

export default operation<UpdateKeyDescriptionRequest, Record<string, never>>({
  name: 'UpdateKeyDescription',
  action: 'kms:UpdateKeyDescription',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'UpdateKeyDescription',
      action: 'kms:UpdateKeyDescription',
      aliases: false,
    });
    await updateKey(ctx, key, 'UpdateKeyDescription', (k) => ({
      ...k,
      description: input.Description ?? '',
    }));
    return {};
  },
});
