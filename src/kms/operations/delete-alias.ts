import type { DeleteAliasRequest } from '@aws-sdk/client-kms';
import { authorize } from '../../authz/authorize.js';
import { kmsError } from '../../protocol/errors.js';
import { checkAliasName } from '../aliases.js';
import { aliasArn } from '../arn.js';
import { operation } from '../operation.js';

export default operation<DeleteAliasRequest, Record<string, never>>({
  name: 'DeleteAlias',
  action: 'kms:DeleteAlias',
  readOnly: false,
  async handler(ctx, input) {
    const name = input.AliasName as string;
    checkAliasName(name);
    const account = ctx.principal.accountId;
    const arn = aliasArn(ctx.region, account, name);
    authorize({
      principal: ctx.principal,
      action: 'kms:DeleteAlias',
      resource: { arn, accountId: account },
    });
    const alias = await ctx.services.storage.getAlias(ctx.region, account, name);
    if (alias === undefined) throw kmsError('NotFoundException', `Alias ${arn} is not found.`);
    const key = await ctx.services.storage.getKey(ctx.region, alias.targetKeyId);
    if (key !== undefined) {
      ctx.keyArns.push(key.arn);
      authorize({ principal: ctx.principal, action: 'kms:DeleteAlias', resource: key });
    }
    if (!(await ctx.services.storage.deleteAlias(ctx.region, account, name))) {
      throw kmsError('NotFoundException', `Alias ${arn} is not found.`);
    }
    return {};
  },
});
