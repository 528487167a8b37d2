import type { DescribeKeyRequest, DescribeKeyResponse } from '@aws-sdk/client-kms';
import { toKeyMetadata } from '../key-metadata.js';
import { operation } from '../operation.js';
import { useKey } from '../use-key.js';

export default operation<DescribeKeyRequest, DescribeKeyResponse>({
  name: 'DescribeKey',
  action: 'kms:DescribeKey',
  readOnly: true,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'DescribeKey',
      action: 'kms:DescribeKey',
      aliases: true,
      authz: { grantTokens: input.GrantTokens },
    });
    return { KeyMetadata: toKeyMetadata(key) };
  },
});
