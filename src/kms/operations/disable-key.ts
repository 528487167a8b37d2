import type { DisableKeyRequest } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';
import { updateKey } from '../keys/update-key.js';

export default operation<DisableKeyRequest, Record<string, never>>({
  name: 'DisableKey',
  action: 'kms:DisableKey',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'DisableKey',
      action: 'kms:DisableKey',
      aliases: false,
    });
    await updateKey(ctx, key, 'DisableKey', (k) => ({ ...k, keyState: 'Disabled' }));
    return {};
  },
});
