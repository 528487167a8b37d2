import type { DecryptRequest, DecryptResponse } from '@aws-sdk/client-kms';
import { kmsError, missingMember } from '../../errors/aws-errors.js';
import {
  decryptAsymmetric,
  isRsaEncryptionAlgorithm,
  requireUsage,
} from '../crypto/asymmetric-ops.js';
import { operation } from '../operation.js';
import { decryptBlob, SYMMETRIC_DEFAULT } from '../crypto/symmetric.js';
import { dryRunSucceeded, refuseRecipient, useKey } from '../keys/use-key.js';

export default operation<DecryptRequest, DecryptResponse>({
  name: 'Decrypt',
  action: 'kms:Decrypt',
  readOnly: true,
  async handler(ctx, input) {
    refuseRecipient(input.Recipient);
    if (input.DryRun === true && input.DryRunModifiers?.includes('IGNORE_CIPHERTEXT') === true) {
      /* Precondition: a dry run that ignores the ciphertext names its key. */
      if (input.KeyId === undefined) {
        throw kmsError(
          'ValidationException',
          'KeyId is required when DryRunModifiers includes IGNORE_CIPHERTEXT.',
        );
      }
      const key = await useKey(ctx, input.KeyId, {
        operation: 'Decrypt',
        action: 'kms:Decrypt',
        aliases: true,
      });
      requireUsage(key, 'ENCRYPT_DECRYPT', 'Decrypt');
      dryRunSucceeded();
    }
    if (input.CiphertextBlob === undefined) {
      throw missingMember('ciphertextBlob');
    }
    /* An RSAES-OAEP algorithm means raw ciphertext under an asymmetric key (KeyId required). */
    if (isRsaEncryptionAlgorithm(input.EncryptionAlgorithm)) {
      const out = await decryptAsymmetric(ctx, Buffer.from(input.CiphertextBlob), {
        operation: 'Decrypt',
        action: 'kms:Decrypt',
        keyId: input.KeyId,
        algorithm: input.EncryptionAlgorithm as string,
        context: input.EncryptionContext,
        dryRun: input.DryRun === true ? dryRunSucceeded : undefined,
      });
      ctx.sensitive.push(out.plaintext);
      return { KeyId: out.key.arn, Plaintext: out.plaintext, EncryptionAlgorithm: out.algorithm };
    }
    const out = await decryptBlob(ctx, Buffer.from(input.CiphertextBlob), input.EncryptionContext, {
      operation: 'Decrypt',
      action: 'kms:Decrypt',
      keyId: input.KeyId,
      algorithm: input.EncryptionAlgorithm,
    });
    if (input.DryRun === true) {
      out.plaintext.fill(0);
      dryRunSucceeded();
    }
    ctx.sensitive.push(out.plaintext);
    return {
      KeyId: out.key.arn,
      Plaintext: out.plaintext,
      EncryptionAlgorithm: SYMMETRIC_DEFAULT,
      KeyMaterialId: out.versionId,
    };
  },
});
