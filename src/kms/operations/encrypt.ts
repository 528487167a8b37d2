import type { EncryptRequest, EncryptResponse } from '@aws-sdk/client-kms';
import { operation } from '../operation.js';
import { encryptFor } from '../crypto/asymmetric-ops.js';
import { SYMMETRIC_DEFAULT } from '../crypto/symmetric.js';
import { dryRunSucceeded, useKey } from '../keys/use-key.js';

export default operation<EncryptRequest, EncryptResponse>({
  name: 'Encrypt',
  action: 'kms:Encrypt',
  readOnly: true,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'Encrypt',
      action: 'kms:Encrypt',
      aliases: true,
      usage: 'ENCRYPT_DECRYPT',
      authz: {
        encryptionContext: input.EncryptionContext,
        conditions: { 'kms:EncryptionAlgorithm': input.EncryptionAlgorithm ?? SYMMETRIC_DEFAULT },
      },
    });
    // A view, not a copy: the runner zeroes the decoded Plaintext after the response.
    const given = input.Plaintext as Uint8Array;
    const plaintext = Buffer.from(given.buffer, given.byteOffset, given.byteLength);
    // Symmetric keys make a keyhold blob; RSA keys raw RSAES-OAEP ciphertext (crypto/asymmetric-ops.ts).
    const out = await encryptFor(
      ctx,
      key,
      'Encrypt',
      plaintext,
      input.EncryptionAlgorithm,
      input.EncryptionContext,
      input.DryRun === true,
    );
    if (input.DryRun === true) dryRunSucceeded();
    return { CiphertextBlob: out.blob, KeyId: key.arn, EncryptionAlgorithm: out.algorithm };
  },
});
