import type { ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { multiRegionMembers, primaryOf } from '../keys/multi-region.js';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';
import { updateKey } from '../keys/update-key.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** AWS: "it must be between 7 and 30, inclusive" (the model itself allows 1-365). */
export const MIN_PENDING_WINDOW_DAYS = 7;
export const MAX_PENDING_WINDOW_DAYS = 30;

export default operation<ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse>({
  name: 'ScheduleKeyDeletion',
  action: 'kms:ScheduleKeyDeletion',
  readOnly: false,
  async handler(ctx, input) {
    const days = input.PendingWindowInDays ?? MAX_PENDING_WINDOW_DAYS;
    if (days < MIN_PENDING_WINDOW_DAYS || days > MAX_PENDING_WINDOW_DAYS) {
      const bound =
        days < MIN_PENDING_WINDOW_DAYS
          ? `greater than or equal to ${MIN_PENDING_WINDOW_DAYS}`
          : `less than or equal to ${MAX_PENDING_WINDOW_DAYS}`;
      throw kmsError(
        'ValidationException',
        `1 validation error detected: Value '${days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value ${bound}`,
      );
    }
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'ScheduleKeyDeletion',
      action: 'kms:ScheduleKeyDeletion',
      aliases: false,
      authz: { conditions: { 'kms:ScheduleKeyDeletionPendingWindowInDays': days } },
    });
    // A multi-Region primary with replicas waits for them: PendingReplicaDeletion, and its
    // waiting period starts when the last replica is deleted (kms/keys/multi-region.ts).
    if (key.multiRegion) {
      const members = await multiRegionMembers(ctx.services.storage, key);
      const isPrimary = primaryOf(members)?.region === key.region;
      if (isPrimary && members.some((m) => m.role === 'REPLICA')) {
        const next = await updateKey(ctx, key, 'ScheduleKeyDeletion', (k) => ({
          ...k,
          keyState: 'PendingReplicaDeletion',
          deletionDate: undefined,
          pendingDeletionWindowInDays: days,
        }));
        return { KeyId: next.arn, KeyState: 'PendingReplicaDeletion', PendingWindowInDays: days };
      }
    }
    const deletionDate = new Date(ctx.now.getTime() + days * DAY_MS);
    const next = await updateKey(ctx, key, 'ScheduleKeyDeletion', (k) => ({
      ...k,
      keyState: 'PendingDeletion',
      deletionDate,
      pendingDeletionWindowInDays: days,
    }));
    return {
      KeyId: next.arn,
      DeletionDate: deletionDate,
      KeyState: 'PendingDeletion',
      PendingWindowInDays: days,
    };
  },
});
