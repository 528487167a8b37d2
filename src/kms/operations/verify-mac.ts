import type { VerifyMacRequest, VerifyMacResponse } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { keyMaterial, requireAlgorithm } from '../crypto/asymmetric-ops.js';
import { MAC_ALGORITHMS } from '../keys/key-specs.js';
import { operation } from '../operation.js';
import { dryRunSucceeded, useKey } from '../keys/use-key.js';

export default operation<VerifyMacRequest, VerifyMacResponse>({
  name: 'VerifyMac',
  action: 'kms:VerifyMac',
  readOnly: true,
  async handler(ctx, input) {
    const algorithm = input.MacAlgorithm as string;
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'VerifyMac',
      action: 'kms:VerifyMac',
      aliases: true,
      usage: 'GENERATE_VERIFY_MAC',
      authz: { conditions: { 'kms:MacAlgorithm': algorithm } },
    });
    requireAlgorithm(key, algorithm);
    const hash = MAC_ALGORITHMS[algorithm];
    if (hash === undefined) throw new Error(`no hash for ${algorithm}`);
    if (input.DryRun === true) dryRunSucceeded();
    const { handle } = await keyMaterial(ctx, key);
    const valid = ctx.services.hsm.verifyMac(
      handle,
      hash,
      Buffer.from(input.Message as Uint8Array),
      Buffer.from(input.Mac as Uint8Array),
    );
    /* Postcondition: a MAC that does not match is KMSInvalidMacException, never MacValid: false. */
    // AWS sends this error without a message.
    if (!valid) throw kmsError('KMSInvalidMacException', '');
    return { KeyId: key.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm };
  },
});
