import type { RevokeGrantRequest } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { checkGrantId } from '../access/grants.js';
import { operation } from '../operation.js';
import { dryRunSucceeded, useKey } from '../keys/use-key.js';

export default operation<RevokeGrantRequest, Record<string, never>>({
  name: 'RevokeGrant',
  action: 'kms:RevokeGrant',
  readOnly: false,
  async handler(ctx, input) {
    const grantId = input.GrantId as string;
    checkGrantId(grantId);
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'RevokeGrant',
      action: 'kms:RevokeGrant',
      aliases: false,
      authz: { conditions: { 'kms:GrantIsForAWSResource': false } },
    });
    const grants = ctx.services.storage.grants;
    // A well-formed id of no grant of this key: NotFoundException (what AWS SDK users such
    // as the Terraform provider treat as "already gone").
    if ((await grants.getGrant(key.region, key.keyId, grantId)) === undefined)
      throw kmsError('NotFoundException', `Grant ID ${grantId} not found`);
    if (input.DryRun === true) dryRunSucceeded();
    await grants.deleteGrant(key.region, key.keyId, grantId);
    return {};
  },
});
