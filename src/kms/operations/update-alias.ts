import type { UpdateAliasRequest } from '@aws-sdk/client-kms';
import { authorize } from '../../authz/authorize.js';
import { kmsError } from '../../protocol/errors.js';
import { checkAliasName } from '../aliases.js';
import { aliasArn } from '../arn.js';
import { keyType } from '../key-specs.js';
import { operation } from '../operation.js';
import { useKey } from '../use-key.js';

export default operation<UpdateAliasRequest, Record<string, never>>({
  name: 'UpdateAlias',
  action: 'kms:UpdateAlias',
  readOnly: false,
  async handler(ctx, input) {
    const name = input.AliasName as string;
    checkAliasName(name);
    const account = ctx.principal.accountId;
    const arn = aliasArn(ctx.region, account, name);
    authorize({
      principal: ctx.principal,
      action: 'kms:UpdateAlias',
      resource: { arn, accountId: account },
    });
    const alias = await ctx.services.storage.getAlias(ctx.region, account, name);
    if (alias === undefined) throw kmsError('NotFoundException', `Alias ${arn} is not found.`);
    const current = await ctx.services.storage.getKey(ctx.region, alias.targetKeyId);
    const target = await useKey(ctx, input.TargetKeyId as string, {
      operation: 'UpdateAlias',
      action: 'kms:UpdateAlias',
      aliases: false,
    });
    if (current !== undefined) {
      ctx.keyArns.push(current.arn);
      authorize({ principal: ctx.principal, action: 'kms:UpdateAlias', resource: current });
      /* Precondition: the new target has the same key type and usage as the current one. */
      if (keyType(current.keySpec) !== keyType(target.keySpec)) {
        throw kmsError(
          'ValidationException',
          `${target.arn} is not the same key type as the current alias target ${current.arn}.`,
        );
      }
      if (current.keyUsage !== target.keyUsage) {
        throw kmsError(
          'ValidationException',
          `${target.arn} key usage ${target.keyUsage} differs from the current alias target's ${current.keyUsage}.`,
        );
      }
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
    if (!updated) throw kmsError('NotFoundException', `Alias ${arn} is not found.`);
    return {};
  },
});
