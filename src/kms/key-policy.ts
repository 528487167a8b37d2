/**
 * Key policy storage rules for the core: the AWS default policy when none is given, a size
 * limit, and a JSON check. Full policy grammar and evaluation: authorization issue.
 */
import { kmsError } from '../protocol/errors.js';

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

export function checkPolicyDocument(policy: string): void {
  if (Buffer.byteLength(policy, 'utf8') > MAX_POLICY_BYTES) {
    throw kmsError('LimitExceededException', 'The key policy exceeds the 32 KB size limit.');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(policy);
  } catch {
    throw kmsError('MalformedPolicyDocumentException', 'The policy is not valid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !('Statement' in doc)) {
    throw kmsError(
      'MalformedPolicyDocumentException',
      'The policy must be a JSON object with a Statement.',
    );
  }
}
