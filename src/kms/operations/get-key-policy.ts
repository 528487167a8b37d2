import type { GetKeyPolicyRequest, GetKeyPolicyResponse } from '@aws-sdk/client-kms';
import { checkPolicyName } from '../key-policy.js';
import { operation } from '../operation.js';
import { useKey } from '../use-key.js';

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
    return { Policy: key.policy, PolicyName: name };
  },
});
