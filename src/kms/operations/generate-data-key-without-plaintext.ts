import type {
  GenerateDataKeyWithoutPlaintextRequest,
  GenerateDataKeyWithoutPlaintextResponse,
} from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { dataKeyLength, encryptWithKey } from '../crypto/symmetric.js';
import { dryRunSucceeded, requireSymmetricEncryption, useKey } from '../keys/use-key.js';

export default operation<
  GenerateDataKeyWithoutPlaintextRequest,
  GenerateDataKeyWithoutPlaintextResponse
>({
  name: 'GenerateDataKeyWithoutPlaintext',
  action: 'kms:GenerateDataKeyWithoutPlaintext',
  readOnly: true,
  async handler(ctx, input) {
    const length = dataKeyLength(input.KeySpec, input.NumberOfBytes);
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'GenerateDataKeyWithoutPlaintext',
      action: 'kms:GenerateDataKeyWithoutPlaintext',
      aliases: true,
      usage: 'ENCRYPT_DECRYPT',
      authz: { encryptionContext: input.EncryptionContext },
    });
    requireSymmetricEncryption(key, 'GenerateDataKeyWithoutPlaintext');
    if (input.DryRun === true) dryRunSucceeded();
    const plaintext = ctx.services.hsm.random(length);
    try {
      const { blob, versionId } = await encryptWithKey(
        ctx,
        key,
        plaintext,
        input.EncryptionContext,
      );
      return { CiphertextBlob: blob, KeyId: key.arn, KeyMaterialId: versionId };
    } finally {
      plaintext.fill(0);
    }
  },
});
