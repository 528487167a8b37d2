import type { GetPublicKeyRequest, GetPublicKeyResponse } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { publicKeyOf } from '../crypto/asymmetric-ops.js';
import { algorithmLists } from '../keys/key-metadata.js';
import { keyType } from '../keys/key-specs.js';
import { operation } from '../operation.js';
import { useKey } from '../keys/use-key.js';

export default operation<GetPublicKeyRequest, GetPublicKeyResponse>({
  name: 'GetPublicKey',
  action: 'kms:GetPublicKey',
  readOnly: true,
  async handler(ctx, input) {
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'GetPublicKey',
      action: 'kms:GetPublicKey',
      aliases: true,
    });
    /* Precondition: only asymmetric keys have a public key (checked after the key state;
       AWS sends this error without a message). */
    if (keyType(key.keySpec) !== 'ASYMMETRIC') throw kmsError('UnsupportedOperationException', '');
    return {
      KeyId: key.arn,
      PublicKey: await publicKeyOf(ctx, key),
      CustomerMasterKeySpec: key.keySpec as GetPublicKeyResponse['CustomerMasterKeySpec'],
      KeySpec: key.keySpec as GetPublicKeyResponse['KeySpec'],
      KeyUsage: key.keyUsage as GetPublicKeyResponse['KeyUsage'],
      ...algorithmLists(key),
    };
  },
});
