import type { GenerateRandomRequest, GenerateRandomResponse } from '@aws-sdk/client-kms';
import { authorizeAccount } from '../authorize.js';
import { kmsError, missingMember } from '../../protocol/errors.js';
import { operation } from '../operation.js';
import { refuseRecipient } from '../use-key.js';

export default operation<GenerateRandomRequest, GenerateRandomResponse>({
  name: 'GenerateRandom',
  action: 'kms:GenerateRandom',
  readOnly: true,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:GenerateRandom');
    refuseRecipient(input.Recipient);
    if (input.CustomKeyStoreId !== undefined) {
      throw kmsError(
        'CustomKeyStoreNotFoundException',
        `Custom key store ${input.CustomKeyStoreId} does not exist.`,
      );
    }
    if (input.NumberOfBytes === undefined) {
      throw missingMember('numberOfBytes');
    }
    const bytes = ctx.services.hsm.random(input.NumberOfBytes);
    ctx.sensitive.push(bytes);
    return { Plaintext: bytes };
  },
});
