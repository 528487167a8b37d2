import type { DeriveSharedSecretRequest, DeriveSharedSecretResponse } from '@aws-sdk/client-kms';
import { checkPeerPublicKey, keyMaterial, requireAlgorithm } from '../crypto/asymmetric-ops.js';
import { operation } from '../operation.js';
import { dryRunSucceeded, refuseRecipient, useKey } from '../keys/use-key.js';

export default operation<DeriveSharedSecretRequest, DeriveSharedSecretResponse>({
  name: 'DeriveSharedSecret',
  action: 'kms:DeriveSharedSecret',
  readOnly: true,
  async handler(ctx, input) {
    refuseRecipient(input.Recipient);
    const algorithm = input.KeyAgreementAlgorithm as string;
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'DeriveSharedSecret',
      action: 'kms:DeriveSharedSecret',
      aliases: true,
      usage: 'KEY_AGREEMENT',
      authz: {
        conditions: { 'kms:KeyAgreementAlgorithm': algorithm },
      },
    });
    requireAlgorithm(key, algorithm);
    const peer = Buffer.from(input.PublicKey as Uint8Array);
    checkPeerPublicKey(key, peer);
    if (input.DryRun === true) dryRunSucceeded();
    const { handle } = await keyMaterial(ctx, key);
    const secret = ctx.services.hsm.deriveSharedSecret(handle, peer);
    ctx.sensitive.push(secret);
    return {
      KeyId: key.arn,
      SharedSecret: secret,
      KeyAgreementAlgorithm: input.KeyAgreementAlgorithm,
      KeyOrigin: key.origin as DeriveSharedSecretResponse['KeyOrigin'],
    };
  },
});
