/** Alias name rules (API reference of CreateAlias/UpdateAlias/DeleteAlias). */
import { kmsError } from '../../errors/aws-errors.js';
import type { AliasRecord, KeyRecord } from '../../storage/repository.js';
import { aliasArn, parseKeyIdentifier } from './arn.js';
import { ALIAS_NAME } from '../key-spec-table.js';
import { authorizeAlias, authorizeKey } from '../access/authorize.js';
import type { RequestContext } from '../context.js';

export const MAX_ALIASES_PER_KEY = 50;

/** Throws the AWS errors for names refused beyond the model's length and pattern. */
export function checkAliasName(name: string): void {
  /* Precondition: an alias name starts with alias/ (AWS answers ValidationException). */
  if (!name.startsWith(ALIAS_NAME.prefix) || name.length === ALIAS_NAME.prefix.length) {
    throw kmsError(
      'ValidationException',
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
  }
  /* Precondition: alias/aws/ is reserved for AWS managed keys. */
  if (name.startsWith(ALIAS_NAME.reservedPrefix)) {
    throw kmsError(
      'InvalidAliasNameException',
      `${name} is not a valid alias name: the prefix alias/aws/ is reserved for AWS managed keys.`,
    );
  }
  /* Precondition: only letters, digits, / _ and - follow alias/ (the model's pattern also
     admits ':', which AWS refuses with this message). */
  if (!ALIAS_NAME.pattern.test(name)) {
    throw kmsError('ValidationException', `${name} contains invalid characters for an alias`);
  }
}

/**
 * UpdateAlias / DeleteAlias preamble: check the name, authorize the action on the alias,
 * load it, and authorize the action on the key it currently points to (AWS checks both).
 */
export async function loadAliasForChange(
  ctx: RequestContext,
  name: string,
  action: string,
): Promise<{ alias: AliasRecord; arn: string; current: KeyRecord | undefined }> {
  checkAliasName(name);
  const account = ctx.principal.accountId;
  const arn = aliasArn(ctx.region, account, name);
  await authorizeAlias(ctx, arn, action);
  const alias = await ctx.services.storage.getAlias(ctx.region, account, name);
  if (alias === undefined) throw aliasNotFound(arn);
  const current = await ctx.services.storage.getKey(ctx.region, alias.targetKeyId);
  if (current !== undefined) {
    ctx.keyArns.push(current.arn);
    await authorizeKey(ctx, current, action);
  }
  return { alias, arn, current };
}

/**
 * An alias points to a key, never to another alias. CreateAlias and UpdateAlias model no
 * InvalidArnException (the answer of other key-only operations), so AWS answers this one.
 */
export function refuseAliasTarget(targetKeyId: string): void {
  const kind = parseKeyIdentifier(targetKeyId).kind;
  if (kind === 'alias' || kind === 'aliasArn')
    throw kmsError('ValidationException', 'Aliases must refer to keys. Not aliases');
}

export function aliasNotFound(arn: string): Error {
  return kmsError('NotFoundException', `Alias ${arn} is not found.`);
}
