import type { CreateGrantRequest, CreateGrantResponse } from '@aws-sdk/client-kms';
import { kmsError, missingMember } from '../../errors/aws-errors.js';
import type { GrantConstraintsRecord } from '../../storage/grant-repository.js';
import {
  MAX_CONSTRAINT_PAIRS,
  MAX_CONSTRAINT_VALUE_LENGTH,
  MAX_GRANTS_PER_KEY,
  checkGrantOperations,
  checkGrantTokens,
  checkPrincipalArn,
  grantFingerprint,
  keyTakesEncryptionContext,
  mintGrantToken,
  newGrantId,
  normalizeConstraints,
} from '../access/grants.js';
import { bindGrantPrincipals } from '../access/grant-principals.js';
import { operation } from '../operation.js';
import { dryRunSucceeded, useKey } from '../keys/use-key.js';

export default operation<CreateGrantRequest, CreateGrantResponse>({
  name: 'CreateGrant',
  action: 'kms:CreateGrant',
  readOnly: false,
  async handler(ctx, input) {
    // keyhold runs no AWS services, so no grant can name one (GranteeServicePrincipal,
    // RetiringServicePrincipal and the SourceArn constraint exist for service grants).
    if (input.GranteeServicePrincipal !== undefined || input.RetiringServicePrincipal !== undefined)
      throw kmsError(
        'UnsupportedOperationException',
        'Grants for AWS service principals are not supported by keyhold.',
      );
    if (input.Constraints?.SourceArn !== undefined)
      throw kmsError(
        'UnsupportedOperationException',
        'The SourceArn grant constraint is not supported by keyhold.',
      );
    const grantee = input.GranteePrincipal;
    if (grantee === undefined) throw missingMember('granteePrincipal');
    checkPrincipalArn(grantee, 'GranteePrincipal');
    const retiring = input.RetiringPrincipal;
    if (retiring !== undefined) checkPrincipalArn(retiring, 'RetiringPrincipal');
    const operations = [...new Set(input.Operations ?? [])] as string[];
    if (operations.length === 0)
      throw kmsError(
        'ValidationException',
        "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    const constraints = checkConstraints(input.Constraints);
    checkGrantTokens(input.GrantTokens);

    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'CreateGrant',
      action: 'kms:CreateGrant',
      aliases: false,
      authz: {
        conditions: {
          'kms:GrantOperations': operations,
          'kms:GranteePrincipal': grantee,
          'kms:RetiringPrincipal': retiring,
          'kms:GrantIsForAWSResource': false,
          'kms:GrantConstraintType':
            constraints?.encryptionContextEquals !== undefined
              ? 'EncryptionContextEquals'
              : constraints?.encryptionContextSubset !== undefined
                ? 'EncryptionContextSubset'
                : undefined,
        },
      },
    });
    checkGrantOperations(key, operations);
    if (constraints !== undefined && !keyTakesEncryptionContext(key))
      throw kmsError(
        'ValidationException',
        `Encryption context grant constraints are not supported for ${key.arn}: its operations take no encryption context.`,
      );
    const grants = ctx.services.storage.grants;
    if ((await grants.countGrantsForKey(key.region, key.keyId)) >= MAX_GRANTS_PER_KEY)
      throw kmsError(
        'LimitExceededException',
        `The request was rejected because ${key.arn} already has ${MAX_GRANTS_PER_KEY} grants.`,
      );
    if (input.DryRun === true) dryRunSucceeded();

    const token = mintGrantToken();
    const { grant } = await grants.createGrant(
      {
        region: key.region,
        keyId: key.keyId,
        grantId: newGrantId(),
        accountId: ctx.principal.accountId,
        issuingPrincipal: ctx.principal.arn,
        ...(input.Name !== undefined ? { name: input.Name } : {}),
        granteePrincipal: grantee,
        ...(retiring !== undefined ? { retiringPrincipal: retiring } : {}),
        ...(await bindGrantPrincipals(ctx, grantee, retiring)),
        operations,
        ...(constraints !== undefined ? { constraints } : {}),
        creationDate: ctx.now,
        fingerprint: grantFingerprint({
          name: input.Name,
          granteePrincipal: grantee,
          retiringPrincipal: retiring,
          operations,
          constraints,
        }),
      },
      token.hash,
    );
    return { GrantToken: token.token, GrantId: grant.grantId };
  },
});

/**
 * At most one encryption context constraint, ≤ 8 pairs, values ≤ 384 characters. When both
 * are sent, an empty map is "not given": Terraform's AWS provider always sends both members,
 * the unused one as `{}`, and AWS accepts that.
 */
function checkConstraints(
  c: CreateGrantRequest['Constraints'],
): GrantConstraintsRecord | undefined {
  if (c === undefined) return undefined;
  const record: GrantConstraintsRecord = {};
  const both = c.EncryptionContextSubset !== undefined && c.EncryptionContextEquals !== undefined;
  const given = (m: Record<string, string> | undefined): m is Record<string, string> =>
    m !== undefined && !(both && Object.keys(m).length === 0);
  if (given(c.EncryptionContextSubset)) record.encryptionContextSubset = c.EncryptionContextSubset;
  if (given(c.EncryptionContextEquals)) record.encryptionContextEquals = c.EncryptionContextEquals;
  if (record.encryptionContextSubset !== undefined && record.encryptionContextEquals !== undefined)
    throw kmsError('ValidationException', 'More than one constraint supplied');
  for (const m of [record.encryptionContextSubset, record.encryptionContextEquals]) {
    if (m === undefined) continue;
    const entries = Object.entries(m);
    if (entries.length > MAX_CONSTRAINT_PAIRS)
      throw kmsError(
        'ValidationException',
        `A grant constraint can have at most ${MAX_CONSTRAINT_PAIRS} encryption context pairs.`,
      );
    if (entries.some(([, v]) => v.length > MAX_CONSTRAINT_VALUE_LENGTH))
      throw kmsError(
        'ValidationException',
        `A grant constraint encryption context value can have at most ${MAX_CONSTRAINT_VALUE_LENGTH} characters.`,
      );
  }
  return normalizeConstraints(record);
}
