import type { CancelKeyDeletionRequest, CancelKeyDeletionResponse } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';
import { updateKey } from '../keys/update-key.js';

export default operation<CancelKeyDeletionRequest, CancelKeyDeletionResponse>({
  name: 'CancelKeyDeletion',
  action: 'kms:CancelKeyDeletion',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'CancelKeyDeletion',
      action: 'kms:CancelKeyDeletion',
      aliases: false,
    });
    // AWS: a key whose deletion is canceled is Disabled, not Enabled.
    await updateKey(ctx, key, 'CancelKeyDeletion', (k) => ({
      ...k,
      keyState: 'Disabled',
      deletionDate: undefined,
      pendingDeletionWindowInDays: undefined,
    }));
    return { KeyId: key.arn };
  },
});
