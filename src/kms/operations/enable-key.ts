import type { EnableKeyRequest } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';
import { updateKey } from '../keys/update-key.js';

export default operation<EnableKeyRequest, Record<string, never>>({
  name: 'EnableKey',
  action: 'kms:EnableKey',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'EnableKey',
      action: 'kms:EnableKey',
      aliases: false,
    });
    await updateKey(ctx, key, 'EnableKey', (k) => ({ ...k, keyState: 'Enabled' }));
    return {};
  },
});
