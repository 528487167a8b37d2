import type { UpdateAliasRequest } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { aliasNotFound, loadAliasForChange, refuseAliasTarget } from '../keys/aliases.js';
import { keyType } from '../keys/key-specs.js';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';

export default operation<UpdateAliasRequest, Record<string, never>>({
  name: 'UpdateAlias',
  action: 'kms:UpdateAlias',
  readOnly: false,
  async handler(ctx, input) {
    refuseAliasTarget(input.TargetKeyId as string);
    const { alias, arn, current } = await loadAliasForChange(
      ctx,
      input.AliasName as string,
      'kms:UpdateAlias',
    );
    const target = await useKey(ctx, input.TargetKeyId as string, {
      operation: 'UpdateAlias',
      action: 'kms:UpdateAlias',
      aliases: false,
    });
    /* Precondition: the new target has the same key type and usage as the current one. */
    if (
      current !== undefined &&
      (keyType(current.keySpec) !== keyType(target.keySpec) || current.keyUsage !== target.keyUsage)
    ) {
      throw kmsError(
        'ValidationException',
        `${target.arn} is not the same key type or key usage as the current alias target ${current.arn}.`,
      );
    }
    if (target.keyManager !== 'CUSTOMER') {
      throw kmsError(
        'UnsupportedOperationException',
        `${target.arn} is an AWS managed key; aliases can only point to customer managed keys.`,
      );
    }
    const updated = await ctx.services.storage.updateAlias({
      ...alias,
      targetKeyId: target.keyId,
      lastUpdatedDate: ctx.now,
    });
    if (!updated) throw aliasNotFound(arn);
    return {};
  },
});
