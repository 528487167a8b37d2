import type { GenerateDataKeyPairRequest, GenerateDataKeyPairResponse } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import type { RequestContext } from '../context.js';
import { DATA_KEY_PAIR_SPECS, keySpecInfo } from '../keys/key-specs.js';
import { operation } from '../operation.js';
import { encryptWithKey } from '../crypto/symmetric.js';
import { isCustomStoreKey } from '../../keystores/custom-key-view.js';
import {
  dryRunSucceeded,
  refuseRecipient,
  requireSymmetricEncryption,
  useKey,
} from '../keys/use-key.js';

export interface DataKeyPair {
  keyArn: string;
  privateKeyCiphertextBlob: Buffer;
  /** PKCS#8 DER; the caller either returns it (and registers it for zeroing) or zeroes it. */
  privateKeyPlaintext: Buffer;
  publicKey: Buffer;
  versionId: string;
}

/**
 * GenerateDataKeyPair*: a key pair of KeyPairSpec made outside any KMS key, its PKCS#8
 * private key encrypted under a symmetric encryption KMS key (the usual blob, bound to the
 * EncryptionContext).
 */
export async function generateDataKeyPair(
  ctx: RequestContext,
  input: Omit<GenerateDataKeyPairRequest, 'Recipient'>,
  operationName: string,
  action: string,
): Promise<DataKeyPair> {
  const pairSpec = input.KeyPairSpec as string;
  const key = await useKey(ctx, input.KeyId as string, {
    operation: operationName,
    action,
    aliases: true,
    usage: 'ENCRYPT_DECRYPT',
    authz: {
      encryptionContext: input.EncryptionContext,
      conditions: { 'kms:DataKeyPairSpec': pairSpec },
    },
  });
  requireSymmetricEncryption(key, operationName);
  /* Precondition (devguide): data key pairs cannot be generated under a custom key store key. */
  if (isCustomStoreKey(key))
    throw kmsError(
      'UnsupportedOperationException',
      `${key.arn} is in a custom key store; ${operationName} is not supported for KMS keys in custom key stores.`,
    );
  const spec = DATA_KEY_PAIR_SPECS[pairSpec];
  const params = spec === undefined ? undefined : keySpecInfo(spec)?.keyPair;
  /* Precondition: this build can generate the pair (SM2 is China-only). */
  if (params === undefined) {
    throw kmsError(
      'UnsupportedOperationException',
      `KeyPairSpec ${pairSpec} is not supported by this keyhold version.`,
    );
  }
  if (input.DryRun === true) dryRunSucceeded();
  const pair = await ctx.services.hsm.generateDataKeyPair(params);
  try {
    const { blob, versionId } = await encryptWithKey(
      ctx,
      key,
      pair.privateKey,
      input.EncryptionContext,
    );
    return {
      keyArn: key.arn,
      privateKeyCiphertextBlob: blob,
      privateKeyPlaintext: pair.privateKey,
      publicKey: pair.publicKey,
      versionId,
    };
  } catch (err) {
    pair.privateKey.fill(0);
    throw err;
  }
}

export default operation<GenerateDataKeyPairRequest, GenerateDataKeyPairResponse>({
  name: 'GenerateDataKeyPair',
  action: 'kms:GenerateDataKeyPair',
  readOnly: true,
  async handler(ctx, input) {
    refuseRecipient(input.Recipient);
    const out = await generateDataKeyPair(
      ctx,
      input,
      'GenerateDataKeyPair',
      'kms:GenerateDataKeyPair',
    );
    ctx.sensitive.push(out.privateKeyPlaintext);
    return {
      PrivateKeyCiphertextBlob: out.privateKeyCiphertextBlob,
      PrivateKeyPlaintext: out.privateKeyPlaintext,
      PublicKey: out.publicKey,
      KeyId: out.keyArn,
      KeyPairSpec: input.KeyPairSpec,
      KeyMaterialId: out.versionId,
    };
  },
});
