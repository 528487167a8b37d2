import type { EnableKeyRotationRequest } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import {
  DEFAULT_ROTATION_PERIOD_DAYS,
  nextRotationDate,
  useRotationKey,
} from '../material/rotate-material.js';

/**
 * EnableKeyRotation: turn on automatic rotation, or change the period of an enabled one
 * (RotationPeriodInDays 90–2560 is checked by the model validator; default 365).
 */
export default operation<EnableKeyRotationRequest, Record<string, never>>({
  name: 'EnableKeyRotation',
  action: 'kms:EnableKeyRotation',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useRotationKey(ctx, input.KeyId as string, 'EnableKeyRotation', {
      conditions: { 'kms:RotationPeriodInDays': input.RotationPeriodInDays },
    });
    const period = input.RotationPeriodInDays ?? DEFAULT_ROTATION_PERIOD_DAYS;
    const rotation = ctx.services.storage.rotation;
    const settings = await rotation.getRotationSettings(key.region, key.keyId);
    await rotation.putRotationSettings({
      region: key.region,
      keyId: key.keyId,
      enabled: true,
      rotationPeriodInDays: period,
      nextRotationDate: nextRotationDate(settings, period, ctx.now),
    });
    return {};
  },
});
