import type { PutKeyPolicyRequest } from '@aws-sdk/client-kms';
import {
  checkLockoutSafety,
  checkPolicyDocument,
  checkPolicyName,
  checkPrincipalsExist,
} from '../access/key-policy.js';
import { operation } from '../operation.js';
import { updateKey } from '../keys/update-key.js';
import { useKey } from '../keys/use-key.js';

export default operation<PutKeyPolicyRequest, Record<string, never>>({
  name: 'PutKeyPolicy',
  action: 'kms:PutKeyPolicy',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'PutKeyPolicy',
      action: 'kms:PutKeyPolicy',
      aliases: false,
      authz: {
        conditions: {
          'kms:BypassPolicyLockoutSafetyCheck': input.BypassPolicyLockoutSafetyCheck === true,
        },
      },
    });
    checkPolicyName(input.PolicyName, key.arn);
    const policy = input.Policy as string;
    checkPolicyDocument(policy);
    const policyPrincipals = await checkPrincipalsExist(ctx, policy);
    await checkLockoutSafety(ctx, key, policy, input.BypassPolicyLockoutSafetyCheck === true);
    await updateKey(ctx, key, 'PutKeyPolicy', (k) => ({ ...k, policy, policyPrincipals }));
    return {};
  },
});
