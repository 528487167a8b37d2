import type { EncryptRequest, EncryptResponse } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { checkSymmetricAlgorithm, encryptWithKey, SYMMETRIC_DEFAULT } from '../symmetric.js';
import { dryRunSucceeded, requireSymmetricEncryption, useKey } from '../use-key.js';

export default operation<EncryptRequest, EncryptResponse>({
  name: 'Encrypt',
  action: 'kms:Encrypt',
  readOnly: true,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'Encrypt',
      action: 'kms:Encrypt',
      aliases: true,
      authz: { encryptionContext: input.EncryptionContext, grantTokens: input.GrantTokens },
    });
    requireSymmetricEncryption(key, 'Encrypt');
    checkSymmetricAlgorithm(key, input.EncryptionAlgorithm);
    if (input.DryRun === true) dryRunSucceeded();
    const { blob } = await encryptWithKey(
      ctx,
      key,
      Buffer.from(input.Plaintext as Uint8Array),
      input.EncryptionContext,
    );
    return { CiphertextBlob: blob, KeyId: key.arn, EncryptionAlgorithm: SYMMETRIC_DEFAULT };
  },
});
