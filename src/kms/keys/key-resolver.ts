/**
 * Resolve a KeyId parameter (key id, key ARN, alias name, alias ARN) to a stored key,
 * with AWS's NotFoundException / InvalidArnException messages. Records the key ARN for
 * the audit event.
 */
import { kmsError } from '../../errors/aws-errors.js';
import type { KeyRecord } from '../../storage/repository.js';
import { aliasArn, keyArn, parseKeyIdentifier } from './arn.js';
import type { RequestContext } from '../context.js';
import { annotateKey } from '../../keystores/attach-custom-key-view.js';

export interface ResolveOptions {
  /** Whether the operation accepts alias names and alias ARNs. */
  aliases: boolean;
}

export async function resolveKey(
  ctx: RequestContext,
  value: string,
  opts: ResolveOptions,
): Promise<KeyRecord> {
  // Keys of custom key stores carry their store and availability (keystores/attach-custom-key-view.ts).
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
      /* Precondition: a bare key id is a UUID or mrk- + 32 hex digits (else AWS's "Invalid keyId"). */
      if (!isWellFormedKeyId(id.keyId)) throw invalidKeyId(value);
      return found(ctx, await ctx.services.storage.getKey(ctx.region, id.keyId), caller, () =>
        notFoundKey(keyArn(ctx.region, caller, id.keyId)),
      );
    case 'keyArn':
      // AWS names only the Region of an ARN it does not serve for this request.
      if (id.region !== ctx.region) throw kmsError('NotFoundException', `Invalid arn ${id.region}`);
      // A key ARN with a malformed key id: AWS names the id part, unquoted.
      if (!isWellFormedKeyId(id.keyId))
        throw kmsError('NotFoundException', `Invalid keyId ${id.keyId}`);
      return found(ctx, await ctx.services.storage.getKey(ctx.region, id.keyId), id.accountId, () =>
        notFoundKey(value),
      );
    case 'alias':
    case 'aliasArn': {
      const account = id.kind === 'aliasArn' ? id.accountId : caller;
      const arn = aliasArn(ctx.region, account, id.aliasName);
      /* Precondition: the operation accepts aliases (many admin operations take only key ids and ARNs). */
      if (!opts.aliases)
        throw kmsError('InvalidArnException', 'Key Aliases are not supported for this operation.');
      if (id.kind === 'aliasArn' && id.region !== ctx.region)
        throw kmsError('NotFoundException', `Invalid arn ${id.region}`);
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

/** Key ids keyhold (and AWS) issue: a UUID, or `mrk-` and 32 hex digits for multi-Region keys. */
const KEY_ID_RE =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/i;

export function isWellFormedKeyId(keyId: string): boolean {
  return KEY_ID_RE.test(keyId);
}

/** A bare key id that cannot name a key. */
export function invalidKeyId(value: string): Error {
  return kmsError('NotFoundException', `Invalid keyId '${value}'`);
}

export function notFoundKey(arn: string): Error {
  return kmsError('NotFoundException', `Key '${arn}' does not exist`);
}

function notFoundAlias(arn: string): Error {
  return kmsError('NotFoundException', `Alias ${arn} is not found.`);
}
