import type {
  GetParametersForImportRequest,
  GetParametersForImportResponse,
} from '@aws-sdk/client-kms';
import { IMPORT_WRAPPING_ALGORITHMS, type ImportWrappingAlgorithm } from '../../hsm/key-import.js';
import { kmsError } from '../../errors/aws-errors.js';
import {
  IMPORT_TOKEN_PREFIX,
  IMPORT_TOKEN_VALIDITY_MS,
  importTokenId,
  useImportKey,
} from '../material/import-material.js';
import { keySpecInfo } from '../keys/key-specs.js';
import { operation } from '../operation.js';

const WRAPPING_KEY_BITS: Readonly<Record<string, number>> = {
  RSA_2048: 2048,
  RSA_3072: 3072,
  RSA_4096: 4096,
};

function isWrappingAlgorithm(v: string): v is ImportWrappingAlgorithm {
  return (IMPORT_WRAPPING_ALGORITHMS as readonly string[]).includes(v);
}

/**
 * GetParametersForImport: a fresh RSA wrapping key pair (the private half sealed by the HSM)
 * and an opaque, single-use import token bound to the key, both valid for 24 hours.
 */
export default operation<GetParametersForImportRequest, GetParametersForImportResponse>({
  name: 'GetParametersForImport',
  action: 'kms:GetParametersForImport',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useImportKey(ctx, input.KeyId as string, 'GetParametersForImport');
    ctx.keyArns.push(key.arn);
    const algorithm = String(input.WrappingAlgorithm);
    const keySpec = String(input.WrappingKeySpec);
    /* Precondition: RSAES_PKCS1_V1_5 is gone ("As of October 10, 2023, KMS does not support"). */
    if (algorithm === 'RSAES_PKCS1_V1_5') {
      throw kmsError(
        'UnsupportedOperationException',
        'The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1, RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.',
      );
    }
    const bits = WRAPPING_KEY_BITS[keySpec];
    if (!isWrappingAlgorithm(algorithm) || bits === undefined) {
      // SM2 / SM2PKE exist only in the China Regions.
      throw kmsError(
        'UnsupportedOperationException',
        `WrappingAlgorithm ${algorithm} with WrappingKeySpec ${keySpec} is not supported by this keyhold version.`,
      );
    }
    /* Precondition: RSA private keys need an RSA_AES wrapping algorithm (WrappingAlgorithm doc). */
    if (keySpecInfo(key.keySpec)?.kind === 'RSA' && algorithm.startsWith('RSAES_')) {
      throw kmsError(
        'ValidationException',
        `To import an RSA private key (${key.keySpec}), use the RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1 wrapping algorithm.`,
      );
    }
    const token = Buffer.concat([IMPORT_TOKEN_PREFIX, ctx.services.hsm.random(32)]);
    const tokenId = importTokenId(token);
    const wrapping = await ctx.services.hsm.createImportWrappingKey(`${key.arn}/${tokenId}`, bits);
    const validTo = new Date(ctx.now.getTime() + IMPORT_TOKEN_VALIDITY_MS);
    await ctx.services.storage.imports.putImportToken({
      tokenId,
      region: key.region,
      keyId: key.keyId,
      wrappingAlgorithm: algorithm,
      wrappingKeySpec: keySpec,
      sealedPrivateKey: wrapping.sealedPrivateKey,
      validTo,
    });
    return {
      KeyId: key.arn,
      ImportToken: token,
      PublicKey: wrapping.publicKey,
      ParametersValidTo: validTo,
    };
  },
});
