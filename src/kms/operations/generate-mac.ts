import type { GenerateMacRequest, GenerateMacResponse } from '@aws-sdk/client-kms';
import { keyMaterial, requireAlgorithm } from '../crypto/asymmetric-ops.js';
import { MAC_ALGORITHMS } from '../keys/key-specs.js';
import { operation } from '../operation.js';
import { dryRunSucceeded, useKey } from '../keys/use-key.js';

export default operation<GenerateMacRequest, GenerateMacResponse>({
  name: 'GenerateMac',
  action: 'kms:GenerateMac',
  readOnly: true,
  async handler(ctx, input) {
    const algorithm = input.MacAlgorithm as string;
    const key = await useKey(ctx, input.KeyId as string, {
      operation: 'GenerateMac',
      action: 'kms:GenerateMac',
      aliases: true,
      usage: 'GENERATE_VERIFY_MAC',
      authz: { conditions: { 'kms:MacAlgorithm': algorithm } },
    });
    requireAlgorithm(key, algorithm);
    const hash = MAC_ALGORITHMS[algorithm];
    if (hash === undefined) throw new Error(`no hash for ${algorithm}`);
    if (input.DryRun === true) dryRunSucceeded();
    const { handle } = await keyMaterial(ctx, key);
    const mac = ctx.services.hsm.mac(handle, hash, Buffer.from(input.Message as Uint8Array));
    return { Mac: mac, MacAlgorithm: input.MacAlgorithm, KeyId: key.arn };
  },
});
