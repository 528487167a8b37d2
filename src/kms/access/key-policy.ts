/**
 * Key policy rules: the AWS default policy when none is given, the 32 KB limit, the policy
 * grammar (authz/policy), the lockout safety check, and the one policy name ("default").
 */
import { parsePolicyCached } from '../../authz/policy/cache.js';
import {
  awsPrincipalsOf,
  uniqueIdOf,
  type PrincipalBindings,
} from '../../iam/principal-binding.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { KeyRecord } from '../../storage/repository.js';
import { wouldAllowPutKeyPolicy } from './authorize.js';
import type { RequestContext } from '../context.js';

/** AWS documents a 32 KB key policy quota (not adjustable). */
export const MAX_POLICY_BYTES = 32 * 1024;

/** The default key policy, in the exact text GetKeyPolicy returns on AWS. */
export function defaultKeyPolicy(accountId: string): string {
  return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::${accountId}:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`;
}

/** Size, then the policy grammar (authz/policy): MalformedPolicyDocumentException with why. */
export function checkPolicyDocument(policy: string): void {
  if (Buffer.byteLength(policy, 'utf8') > MAX_POLICY_BYTES) {
    throw kmsError('LimitExceededException', 'The key policy exceeds the 32 KB size limit.');
  }
  parsePolicyCached(policy, 'key');
}

/**
 * The policy lockout safety check: unless bypassed, the new policy must still let the
 * caller call PutKeyPolicy (AWS: "The key policy must allow the calling principal to make a
 * subsequent PutKeyPolicy request on the KMS key").
 */
export async function checkLockoutSafety(
  ctx: RequestContext,
  key: KeyRecord,
  policy: string,
  bypass: boolean,
): Promise<void> {
  if (bypass) return;
  if (!(await wouldAllowPutKeyPolicy(ctx, key, policy))) {
    throw kmsError(
      'MalformedPolicyDocumentException',
      'The new key policy will not allow you to update the key policy in the future.',
    );
  }
}

/**
 * "The principals in the key policy must exist and be visible to KMS" (CreateKey/PutKeyPolicy
 * Policy doc). keyhold can only know the accounts it holds: a user or role named in one of
 * them must exist; principals of other accounts are taken on trust. Returns the bindings to
 * store with the policy: each named user/role ARN → its unique id (iam/principal-binding.ts),
 * so that a principal re-created under the same name is not the one the policy named.
 */
export async function checkPrincipalsExist(
  ctx: Pick<RequestContext, 'services'>,
  policy: string,
): Promise<PrincipalBindings> {
  const iam = ctx.services.storage.iam;
  const doc = parsePolicyCached(policy, 'key');
  const bindings: Record<string, string> = {};
  for (const arn of awsPrincipalsOf(doc)) {
    const m = /^arn:aws:iam::(\d{12}):(user|role)\//.exec(arn);
    if (m === null || (await iam.getAccount(m[1] as string)) === undefined) continue;
    const id = await uniqueIdOf(iam, arn);
    if (id === undefined) {
      throw kmsError(
        'MalformedPolicyDocumentException',
        'Policy contains a statement with one or more invalid principals.',
      );
    }
    bindings[arn] = id;
  }
  return bindings;
}

/** "The only valid name is default" (GetKeyPolicy / PutKeyPolicy PolicyName). */
export function checkPolicyName(name: string | undefined, keyArn: string): string {
  if (name === undefined || name === 'default') return 'default';
  throw kmsError('NotFoundException', `No such policy ${name} exists for key ${keyArn}`);
}
