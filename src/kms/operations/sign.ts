import type { SignRequest, SignResponse } from '@aws-sdk/client-kms';
import { keyMaterial, signingAlgorithm, signInput } from '../crypto/asymmetric-ops.js';
import { operation } from '../operation.js';
import { dryRunSucceeded, useKey } from '../keys/use-key.js';

export default operation<SignRequest, SignResponse>({
  name: 'Sign',
  action: 'kms:Sign',
  readOnly: true,
  async handler(ctx, input) {
    const algorithm = input.SigningAlgorithm as string;
    const messageType = input.MessageType ?? 'RAW';
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'Sign',
      action: 'kms:Sign',
      aliases: true,
      usage: 'SIGN_VERIFY',
      authz: {
        conditions: { 'kms:SigningAlgorithm': algorithm, 'kms:MessageType': messageType },
      },
    });
    const message = Buffer.from(input.Message as Uint8Array);
    const info = signingAlgorithm(key, algorithm, messageType, message);
    if (input.DryRun === true) dryRunSucceeded();
    const { handle } = await keyMaterial(ctx, key);
    const signature = ctx.services.hsm.sign(handle, message, info.scheme, signInput(messageType));
    return { KeyId: key.arn, Signature: signature, SigningAlgorithm: input.SigningAlgorithm };
  },
});
