import type { VerifyRequest, VerifyResponse } from '@aws-sdk/client-kms';
import { verifyWithSpki } from '../../hsm/asymmetric.js';
import { kmsError } from '../../errors/aws-errors.js';
import { publicKeyOf, signingAlgorithm, signInput } from '../crypto/asymmetric-ops.js';
import { operation } from '../operation.js';
import { dryRunSucceeded, useKey } from '../keys/use-key.js';

export default operation<VerifyRequest, VerifyResponse>({
  name: 'Verify',
  action: 'kms:Verify',
  readOnly: true,
  async handler(ctx, input) {
    const algorithm = input.SigningAlgorithm as string;
    const messageType = input.MessageType ?? 'RAW';
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'Verify',
      action: 'kms:Verify',
      aliases: true,
      usage: 'SIGN_VERIFY',
      authz: {
        conditions: { 'kms:SigningAlgorithm': algorithm, 'kms:MessageType': messageType },
      },
    });
    const message = Buffer.from(input.Message as Uint8Array);
    const info = signingAlgorithm(key, algorithm, messageType, message);
    if (input.DryRun === true) dryRunSucceeded();
    // Verification needs only the public key: it runs outside the HSM boundary.
    const valid = verifyWithSpki(
      await publicKeyOf(ctx, key),
      message,
      Buffer.from(input.Signature as Uint8Array),
      info.scheme,
      signInput(messageType),
    );
    /* Postcondition: an invalid signature is an error, never SignatureValid: false (AWS). */
    // AWS sends this error without a message.
    if (!valid) throw kmsError('KMSInvalidSignatureException', '');
    return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
  },
});
