import type { DescribeKeyRequest, DescribeKeyResponse } from '@aws-sdk/client-kms';
import { describeKeyMetadata } from '../keys/multi-region.js';
import { importMetadata } from '../material/import-material.js';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';

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
