import type { GetKeyPolicyRequest, GetKeyPolicyResponse } from '@aws-sdk/client-kms';
import { displayPolicy } from '../../iam/principal-binding.js';
import { checkPolicyName } from '../access/key-policy.js';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';

export default operation<GetKeyPolicyRequest, GetKeyPolicyResponse>({
  name: 'GetKeyPolicy',
  action: 'kms:GetKeyPolicy',
  readOnly: true,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'GetKeyPolicy',
      action: 'kms:GetKeyPolicy',
      aliases: false,
    });
    const name = checkPolicyName(input.PolicyName, key.arn);
    // A principal deleted since the policy was saved shows as its unique id, as in AWS.
    const policy = await displayPolicy(ctx.services.storage.iam, key.policy, key.policyPrincipals);
    return { Policy: policy, PolicyName: name };
  },
});
