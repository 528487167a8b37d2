/**
 * Resolve a KeyId parameter (key id, key ARN, alias name, alias ARN) to a stored key,
 * with AWS's NotFoundException / InvalidArnException messages. Records the key ARN for
 * the audit event.
 */
import { kmsError } from '../protocol/errors.js';
import type { KeyRecord } from '../storage/repository.js';
import { aliasArn, keyArn, parseKeyIdentifier } from './arn.js';
import type { RequestContext } from './context.js';
import { annotateKey } from '../keystores/annotate.js';

export interface ResolveOptions {
  /** Whether the operation accepts alias names and alias ARNs. */
  aliases: boolean;
}

export async function resolveKey(
  ctx: RequestContext,
  value: string,
  opts: ResolveOptions,
): Promise<KeyRecord> {
  // Keys of custom key stores carry their store and availability (keystores/annotate.ts).
  return annotateKey(ctx.services, await resolveStoredKey(ctx, value, opts));
}

async function resolveStoredKey(
  ctx: RequestContext,
  value: string,
  opts: ResolveOptions,
): Promise<KeyRecord> {
  const id = parseKeyIdentifier(value);
  const caller = ctx.principal.accountId;
  switch (id.kind) {
    case 'invalidArn':
      throw kmsError('InvalidArnException', `An ARN in the request is not valid: ${value}`);
    case 'id':
      return found(ctx, await ctx.services.storage.getKey(ctx.region, id.keyId), caller, () =>
        notFoundKey(keyArn(ctx.region, caller, id.keyId)),
      );
    case 'keyArn':
      if (id.region !== ctx.region) throw notFoundKey(value);
      return found(ctx, await ctx.services.storage.getKey(ctx.region, id.keyId), id.accountId, () =>
        notFoundKey(value),
      );
    case 'alias':
    case 'aliasArn': {
      const account = id.kind === 'aliasArn' ? id.accountId : caller;
      const arn = aliasArn(ctx.region, account, id.aliasName);
      /* Precondition: the operation accepts aliases (many admin operations take only key ids and ARNs). */
      if (!opts.aliases) throw kmsError('NotFoundException', `Invalid keyId ${value}`);
      if (id.kind === 'aliasArn' && id.region !== ctx.region) throw notFoundAlias(value);
      const alias = await ctx.services.storage.getAlias(ctx.region, account, id.aliasName);
      if (alias === undefined) throw notFoundAlias(arn);
      ctx.requestAlias = id.aliasName;
      return found(
        ctx,
        await ctx.services.storage.getKey(ctx.region, alias.targetKeyId),
        account,
        () => notFoundAlias(arn),
      );
    }
  }
}

function found(
  ctx: RequestContext,
  key: KeyRecord | undefined,
  accountId: string,
  onMissing: () => Error,
): KeyRecord {
  if (key === undefined || key.accountId !== accountId) throw onMissing();
  ctx.keyArns.push(key.arn);
  return key;
}

export function notFoundKey(arn: string): Error {
  return kmsError('NotFoundException', `Key '${arn}' does not exist`);
}

function notFoundAlias(arn: string): Error {
  return kmsError('NotFoundException', `Alias ${arn} is not found.`);
}
