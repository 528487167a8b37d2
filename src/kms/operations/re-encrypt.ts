import type { ReEncryptRequest, ReEncryptResponse } from '@aws-sdk/client-kms';
import { missingMember } from '../../errors/aws-errors.js';
import {
  decryptAsymmetric,
  encryptFor,
  isRsaEncryptionAlgorithm,
} from '../crypto/asymmetric-ops.js';
import { operation } from '../operation.js';
import { decryptBlob, SYMMETRIC_DEFAULT } from '../crypto/symmetric.js';
import { dryRunSucceeded, useKey } from '../keys/use-key.js';

export default operation<ReEncryptRequest, ReEncryptResponse>({
  name: 'ReEncrypt',
  action: 'kms:ReEncryptFrom',
  readOnly: true,
  async handler(ctx, input) {
    if (input.CiphertextBlob === undefined) {
      throw missingMember('ciphertextBlob');
    }
    // Raw RSAES-OAEP ciphertext needs SourceKeyId and SourceEncryptionAlgorithm (crypto/asymmetric-ops.ts).
    const source: { key: { arn: string }; plaintext: Buffer; versionId?: string } =
      isRsaEncryptionAlgorithm(input.SourceEncryptionAlgorithm)
        ? await decryptAsymmetric(ctx, Buffer.from(input.CiphertextBlob), {
            operation: 'ReEncrypt',
            action: 'kms:ReEncryptFrom',
            keyId: input.SourceKeyId,
            algorithm: input.SourceEncryptionAlgorithm as string,
            context: input.SourceEncryptionContext,
          })
        : await decryptBlob(ctx, Buffer.from(input.CiphertextBlob), input.SourceEncryptionContext, {
            operation: 'ReEncrypt',
            action: 'kms:ReEncryptFrom',
            keyId: input.SourceKeyId,
            algorithm: input.SourceEncryptionAlgorithm,
          });
    try {
      const dest = await useKey(ctx, input.DestinationKeyId as string, {
        operation: 'ReEncrypt',
        action: 'kms:ReEncryptTo',
        aliases: true,
        usage: 'ENCRYPT_DECRYPT',
        authz: {
          encryptionContext: input.DestinationEncryptionContext,
          conditions: {
            'kms:EncryptionAlgorithm': input.DestinationEncryptionAlgorithm ?? SYMMETRIC_DEFAULT,
          },
        },
      });
      const out = await encryptFor(
        ctx,
        dest,
        'ReEncrypt',
        source.plaintext,
        input.DestinationEncryptionAlgorithm,
        input.DestinationEncryptionContext,
        input.DryRun === true,
      );
      if (input.DryRun === true) dryRunSucceeded();
      return {
        CiphertextBlob: out.blob,
        SourceKeyId: source.key.arn,
        KeyId: dest.arn,
        SourceEncryptionAlgorithm: input.SourceEncryptionAlgorithm ?? SYMMETRIC_DEFAULT,
        DestinationEncryptionAlgorithm: out.algorithm,
        ...(source.versionId === undefined ? {} : { SourceKeyMaterialId: source.versionId }),
        ...(out.versionId === undefined ? {} : { DestinationKeyMaterialId: out.versionId }),
      };
    } finally {
      // The plaintext never leaves keyhold in ReEncrypt.
      source.plaintext.fill(0);
    }
  },
});
