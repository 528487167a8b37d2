import type { ListKeyPoliciesRequest, ListKeyPoliciesResponse } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { decodeMarker } from '../pagination.js';
import { useKey } from '../keys/use-key.js';

export default operation<ListKeyPoliciesRequest, ListKeyPoliciesResponse>({
  name: 'ListKeyPolicies',
  action: 'kms:ListKeyPolicies',
  readOnly: true,
  async handler(ctx, input) {
    await useKey(ctx, input.KeyId as string, {
      operation: 'ListKeyPolicies',
      action: 'kms:ListKeyPolicies',
      aliases: false,
    });
    // Every key has exactly one policy, named "default"; a marker past it leaves nothing.
    const after = decodeMarker(input.Marker);
    return { PolicyNames: after === undefined ? ['default'] : [], Truncated: false };
  },
});
