import type { GetKeyLastUsageRequest, GetKeyLastUsageResponse } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';

export default operation<GetKeyLastUsageRequest, GetKeyLastUsageResponse>({
  name: 'GetKeyLastUsage',
  action: 'kms:GetKeyLastUsage',
  readOnly: true,
  async handler(ctx, input) {
    // "Alias names are not supported" (model doc).
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'GetKeyLastUsage',
      action: 'kms:GetKeyLastUsage',
      aliases: false,
    });
    const start = await ctx.services.storage.getUsageTrackingStart();
    const last =
      ctx.services.usage === undefined
        ? await ctx.services.storage.getKeyLastUsage(key.region, key.keyId)
        : await ctx.services.usage.lastUsage(key.region, key.keyId);
    return {
      KeyId: key.keyId,
      // "The date from which KMS began recording ... or the date the key was created, whichever is later."
      TrackingStartDate: start > key.creationDate ? start : key.creationDate,
      KeyCreationDate: key.creationDate,
      ...(last !== undefined
        ? {
            KeyLastUsage: {
              Operation: last.operation as NonNullable<
                GetKeyLastUsageResponse['KeyLastUsage']
              >['Operation'],
              Timestamp: last.usedAt,
              CloudTrailEventId: last.eventId,
              KmsRequestId: last.requestId,
            },
          }
        : {}),
    };
  },
});
