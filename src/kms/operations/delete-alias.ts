import type { DeleteAliasRequest } from '@aws-sdk/client-kms';
import { aliasNotFound, loadAliasForChange } from '../keys/aliases.js';
import { operation } from '../operation.js';

export default operation<DeleteAliasRequest, Record<string, never>>({
  name: 'DeleteAlias',
  action: 'kms:DeleteAlias',
  readOnly: false,
  async handler(ctx, input) {
    const { alias, arn } = await loadAliasForChange(
      ctx,
      input.AliasName as string,
      'kms:DeleteAlias',
    );
    if (!(await ctx.services.storage.deleteAlias(ctx.region, alias.accountId, alias.aliasName))) {
      throw aliasNotFound(arn);
    }
    return {};
  },
});
