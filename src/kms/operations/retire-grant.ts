import type { RetireGrantRequest } from '@aws-sdk/client-kms';
import { rootArn } from '../../auth/principal.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { GrantRecord } from '../../storage/grant-repository.js';
import type { KeyRecord } from '../../storage/repository.js';
import { authorizeKey } from '../access/authorize.js';
import type { RequestContext } from '../context.js';
import { grantPrincipalMatches } from '../access/grant-principals.js';
import { checkGrantId, grantForToken } from '../access/grants.js';
import { resolveKey } from '../keys/key-resolver.js';
import { checkKeyState } from '../keys/key-state.js';
import { operation } from '../operation.js';
import { dryRunSucceeded } from '../keys/use-key.js';

export default operation<RetireGrantRequest, Record<string, never>>({
  name: 'RetireGrant',
  action: 'kms:RetireGrant',
  readOnly: false,
  async handler(ctx, input) {
    const { key, grant } =
      input.GrantToken !== undefined
        ? await byToken(ctx, input.GrantToken)
        : await byKeyAndId(ctx, input.KeyId, input.GrantId);
    // Who may retire (RetireGrant docs; devguide grant-manage.md): the retiring principal,
    // the grantee if the grant allows RetireGrant, the account (root user) in which the
    // grant was created — decided by the grant itself. Anyone else needs kms:RetireGrant
    // delegated by policy, which the ordinary authorization step decides (AccessDenied).
    const caller = ctx.principal;
    const byGrant =
      (grant.retiringPrincipal !== undefined &&
        grantPrincipalMatches(caller, grant.retiringPrincipal, grant.retiringPrincipalId)) ||
      (grant.operations.includes('RetireGrant') &&
        grantPrincipalMatches(caller, grant.granteePrincipal, grant.granteePrincipalId)) ||
      caller.arn === rootArn(grant.accountId);
    if (!byGrant) await authorizeKey(ctx, key, 'kms:RetireGrant');
    checkKeyState('RetireGrant', key);
    if (input.DryRun === true) dryRunSucceeded();
    await ctx.services.storage.grants.deleteGrant(grant.region, grant.keyId, grant.grantId);
    return {};
  },
});

async function byToken(
  ctx: RequestContext,
  token: string,
): Promise<{ key: KeyRecord; grant: GrantRecord }> {
  const grant = await grantForToken(ctx, token);
  const key = await ctx.services.storage.getKey(grant.region, grant.keyId);
  if (grant.region !== ctx.region || key === undefined)
    throw kmsError('InvalidGrantTokenException', 'Invalid grant token.');
  ctx.keyArns.push(key.arn);
  return { key, grant };
}

async function byKeyAndId(
  ctx: RequestContext,
  keyId: string | undefined,
  grantId: string | undefined,
): Promise<{ key: KeyRecord; grant: GrantRecord }> {
  if (keyId === undefined || grantId === undefined)
    throw kmsError('ValidationException', 'Grant token OR (grant ID, key ID) must be specified');
  checkGrantId(grantId);
  // The model's example is a key ARN, but KeyId is a KeyIdType: a key id (of the caller's
  // account) or a key ARN, as for RevokeGrant; aliases are refused (InvalidArnException).
  const key = await resolveKey(ctx, keyId, { aliases: false });
  const grant = await ctx.services.storage.grants.getGrant(key.region, key.keyId, grantId);
  if (grant === undefined) throw kmsError('NotFoundException', `Grant ID ${grantId} not found`);
  return { key, grant };
}
