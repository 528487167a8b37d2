import type { ReEncryptRequest, ReEncryptResponse } from '@aws-sdk/client-kms';
import { missingMember } from '../../protocol/errors.js';
import { operation } from '../operation.js';
import {
  checkSymmetricAlgorithm,
  decryptBlob,
  encryptWithKey,
  SYMMETRIC_DEFAULT,
} from '../symmetric.js';
import { dryRunSucceeded, requireSymmetricEncryption, useKey } from '../use-key.js';

export default operation<ReEncryptRequest, ReEncryptResponse>({
  name: 'ReEncrypt',
  action: 'kms:ReEncryptFrom',
  readOnly: true,
  async handler(ctx, input) {
    if (input.CiphertextBlob === undefined) {
      throw missingMember('ciphertextBlob');
    }
    const source = await decryptBlob(
      ctx,
      Buffer.from(input.CiphertextBlob),
      input.SourceEncryptionContext,
      {
        operation: 'ReEncrypt',
        action: 'kms:ReEncryptFrom',
        keyId: input.SourceKeyId,
        algorithm: input.SourceEncryptionAlgorithm,
      },
    );
    try {
      const dest = await useKey(ctx, input.DestinationKeyId as string, {
        operation: 'ReEncrypt',
        action: 'kms:ReEncryptTo',
        aliases: true,
        authz: {
          encryptionContext: input.DestinationEncryptionContext,
          grantTokens: input.GrantTokens,
        },
      });
      requireSymmetricEncryption(dest, 'ReEncrypt');
      checkSymmetricAlgorithm(dest, input.DestinationEncryptionAlgorithm);
      if (input.DryRun === true) dryRunSucceeded();
      const out = await encryptWithKey(
        ctx,
        dest,
        source.plaintext,
        input.DestinationEncryptionContext,
      );
      return {
        CiphertextBlob: out.blob,
        SourceKeyId: source.key.arn,
        KeyId: dest.arn,
        SourceEncryptionAlgorithm: SYMMETRIC_DEFAULT,
        DestinationEncryptionAlgorithm: SYMMETRIC_DEFAULT,
        SourceKeyMaterialId: source.versionId,
        DestinationKeyMaterialId: out.versionId,
      };
    } finally {
      // The plaintext never leaves keyhold in ReEncrypt.
      source.plaintext.fill(0);
    }
  },
});
