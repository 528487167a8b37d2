import type {
  GetKeyRotationStatusRequest,
  GetKeyRotationStatusResponse,
} from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { hasRotatableSpec, rotationEnabled, useRotationKey } from '../material/rotate-material.js';

/**
 * GetKeyRotationStatus. RotationPeriodInDays and NextRotationDate only while automatic
 * rotation is on. OnDemandRotationStartDate is never present: keyhold completes an
 * on-demand rotation inside the RotateKeyOnDemand request, so none is ever in progress.
 */
export default operation<GetKeyRotationStatusRequest, GetKeyRotationStatusResponse>({
  name: 'GetKeyRotationStatus',
  action: 'kms:GetKeyRotationStatus',
  readOnly: true,
  async handler(ctx, input) {
    const key = await useRotationKey(ctx, input.KeyId as string, 'GetKeyRotationStatus');
    const settings = hasRotatableSpec(key)
      ? await ctx.services.storage.rotation.getRotationSettings(key.region, key.keyId)
      : undefined;
    if (!rotationEnabled(key, settings)) return { KeyRotationEnabled: false, KeyId: key.arn };
    return {
      KeyRotationEnabled: true,
      KeyId: key.arn,
      RotationPeriodInDays: settings.rotationPeriodInDays,
      NextRotationDate: settings.nextRotationDate,
    };
  },
});
