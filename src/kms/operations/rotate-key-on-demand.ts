import type { RotateKeyOnDemandRequest, RotateKeyOnDemandResponse } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { checkKeyState } from '../keys/key-state.js';
import { operation } from '../operation.js';
import { rotateToImportedMaterial } from '../material/rotate-imported-material.js';
import {
  MAX_ON_DEMAND_ROTATIONS,
  ON_DEMAND_CONFLICT_WINDOW_MS,
  rotateKeyMaterial,
  rotationEnabled,
  useRotationKey,
} from '../material/rotate-material.js';

/**
 * RotateKeyOnDemand: a new current key material at once (synchronously, so no rotation is
 * ever "in progress" afterwards). It does not move the automatic schedule (model doc). A key
 * with imported material rotates to the material imported for it (material/rotate-imported-material.ts).
 */
export default operation<RotateKeyOnDemandRequest, RotateKeyOnDemandResponse>({
  name: 'RotateKeyOnDemand',
  action: 'kms:RotateKeyOnDemand',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useRotationKey(ctx, input.KeyId as string, 'RotateKeyOnDemand');
    if (key.origin === 'EXTERNAL') {
      await rotateToImportedMaterial(ctx, key, MAX_ON_DEMAND_ROTATIONS);
      return { KeyId: key.arn };
    }
    const settings = await ctx.services.storage.rotation.getRotationSettings(key.region, key.keyId);
    /* Precondition: no automatic rotation is due now or within the next 20 minutes. */
    if (
      rotationEnabled(key, settings) &&
      settings.nextRotationDate.getTime() <= ctx.now.getTime() + ON_DEMAND_CONFLICT_WINDOW_MS
    ) {
      throw kmsError(
        'ConflictException',
        `An automatic rotation of ${key.arn} is in progress or scheduled to begin within the next 20 minutes.`,
      );
    }
    const result = await rotateKeyMaterial(ctx.services, key, {
      type: 'ON_DEMAND',
      now: ctx.now,
      maxOnDemand: MAX_ON_DEMAND_ROTATIONS,
      recheck: (fresh) => {
        checkKeyState('RotateKeyOnDemand', fresh);
        return true;
      },
    });
    if (result?.kind === 'limit-exceeded') {
      throw kmsError(
        'LimitExceededException',
        `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.arn}`,
      );
    }
    return { KeyId: key.arn };
  },
});
