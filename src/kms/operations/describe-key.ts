import type { DescribeKeyRequest, DescribeKeyResponse } from '@aws-sdk/client-kms';
import { describeKeyMetadata } from '../multi-region.js';
import { importMetadata } from '../import.js';
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
    });
    return {
      KeyMetadata: {
        ...(await describeKeyMetadata(ctx.services.storage, key)),
        ...(await importMetadata(ctx.services.storage, key)),
      },
    };
  },
});
