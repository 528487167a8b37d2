import type { CreateAliasRequest } from '@aws-sdk/client-kms';
import { authorizeAlias } from '../access/authorize.js';
import { kmsError } from '../../errors/aws-errors.js';
import { DuplicateKeyError } from '../../storage/repository.js';
import { checkAliasName, MAX_ALIASES_PER_KEY, refuseAliasTarget } from '../keys/aliases.js';
import { aliasArn } from '../keys/arn.js';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';

export default operation<CreateAliasRequest, Record<string, never>>({
  name: 'CreateAlias',
  action: 'kms:CreateAlias',
  readOnly: false,
  async handler(ctx, input) {
    const name = input.AliasName as string;
    checkAliasName(name);
    refuseAliasTarget(input.TargetKeyId as string);
    const arn = aliasArn(ctx.region, ctx.principal.accountId, name);
    // AWS checks kms:CreateAlias on the alias (IAM) and on the key (key policy).
    await authorizeAlias(ctx, arn, 'kms:CreateAlias');
    const key = await useKey(ctx, input.TargetKeyId as string, {
      operation: 'CreateAlias',
      action: 'kms:CreateAlias',
      aliases: false,
    });
    if (key.keyManager !== 'CUSTOMER') {
      throw kmsError(
        'UnsupportedOperationException',
        `${key.arn} is an AWS managed key; aliases can only point to customer managed keys.`,
      );
    }
    const count = await ctx.services.storage.countAliasesForKey(
      ctx.region,
      key.accountId,
      key.keyId,
    );
    if (count >= MAX_ALIASES_PER_KEY) {
      throw kmsError(
        'LimitExceededException',
        `A KMS key can have at most ${MAX_ALIASES_PER_KEY} aliases.`,
      );
    }
    try {
      await ctx.services.storage.createAlias({
        region: ctx.region,
        accountId: ctx.principal.accountId,
        aliasName: name,
        targetKeyId: key.keyId,
        creationDate: ctx.now,
        lastUpdatedDate: ctx.now,
      });
    } catch (err) {
      if (err instanceof DuplicateKeyError)
        throw kmsError('AlreadyExistsException', `An alias with the name ${arn} already exists`);
      throw err;
    }
    return {};
  },
});
