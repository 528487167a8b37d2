/**
 * Key policy rules: the AWS default policy when none is given, the 32 KB limit, the policy
 * grammar (authz/policy), the lockout safety check, and the one policy name ("default").
 */
import { parsePolicyCached } from '../authz/policy/cache.js';
import { kmsError } from '../protocol/errors.js';
import type { KeyRecord } from '../storage/repository.js';
import { wouldAllowPutKeyPolicy } from './authorize.js';
import type { RequestContext } from './context.js';

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

/** "The only valid name is default" (GetKeyPolicy / PutKeyPolicy PolicyName). */
export function checkPolicyName(name: string | undefined, keyArn: string): string {
  if (name === undefined || name === 'default') return 'default';
  throw kmsError('NotFoundException', `No such policy ${name} exists for key ${keyArn}`);
}
