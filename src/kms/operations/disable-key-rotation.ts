import type { DisableKeyRotationRequest } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { useRotationKey } from '../material/rotate-material.js';

/** DisableKeyRotation: stop automatic rotation (on-demand rotation stays possible). */
export default operation<DisableKeyRotationRequest, Record<string, never>>({
  name: 'DisableKeyRotation',
  action: 'kms:DisableKeyRotation',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useRotationKey(ctx, input.KeyId as string, 'DisableKeyRotation');
    const rotation = ctx.services.storage.rotation;
    const settings = await rotation.getRotationSettings(key.region, key.keyId);
    if (settings?.enabled === true) {
      await rotation.putRotationSettings({
        ...settings,
        enabled: false,
        nextRotationDate: undefined,
      });
    }
    return {};
  },
});
