import type { GenerateDataKeyRequest, GenerateDataKeyResponse } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { dataKeyLength, encryptWithKey } from '../crypto/symmetric.js';
import {
  dryRunSucceeded,
  refuseRecipient,
  requireSymmetricEncryption,
  useKey,
} from '../keys/use-key.js';

export default operation<GenerateDataKeyRequest, GenerateDataKeyResponse>({
  name: 'GenerateDataKey',
  action: 'kms:GenerateDataKey',
  readOnly: true,
  async handler(ctx, input) {
    refuseRecipient(input.Recipient);
    const length = dataKeyLength(input.KeySpec, input.NumberOfBytes);
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'GenerateDataKey',
      action: 'kms:GenerateDataKey',
      aliases: true,
      usage: 'ENCRYPT_DECRYPT',
      authz: { encryptionContext: input.EncryptionContext },
    });
    requireSymmetricEncryption(key, 'GenerateDataKey');
    if (input.DryRun === true) dryRunSucceeded();
    const plaintext = ctx.services.hsm.random(length);
    ctx.sensitive.push(plaintext);
    const { blob, versionId } = await encryptWithKey(ctx, key, plaintext, input.EncryptionContext);
    return { CiphertextBlob: blob, Plaintext: plaintext, KeyId: key.arn, KeyMaterialId: versionId };
  },
});
