/** Alias name rules (CreateAlias/UpdateAlias/DeleteAlias; reference 02 "Aliases"). */
import { kmsError } from '../protocol/errors.js';

export const MAX_ALIASES_PER_KEY = 50;

/** Throws the AWS errors for names refused beyond the model's length and pattern. */
export function checkAliasName(name: string): void {
  /* Precondition: an alias name starts with alias/ (AWS answers ValidationException). */
  if (!name.startsWith('alias/') || name.length === 'alias/'.length) {
    throw kmsError(
      'ValidationException',
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
  }
  /* Precondition: alias/aws/ is reserved for AWS managed keys. */
  if (name.startsWith('alias/aws/')) {
    throw kmsError(
      'InvalidAliasNameException',
      `${name} is not a valid alias name: the prefix alias/aws/ is reserved for AWS managed keys.`,
    );
  }
}
