import type { ImportKeyMaterialRequest, ImportKeyMaterialResponse } from '@aws-sdk/client-kms';
import type { ImportWrappingAlgorithm } from '../../hsm/key-import.js';
import { kmsError } from '../../protocol/errors.js';
import type { ExpirationModel } from '../../storage/import-repository.js';
import { ConcurrentUpdateError, type KeyRecord } from '../../storage/repository.js';
import {
  expectedMaterial,
  importTokenId,
  isExpirationModel,
  MAX_VALID_TO_MS,
  useImportKey,
} from '../import.js';
import { checkKeyState } from '../key-state.js';
import { notFoundKey } from '../key-resolver.js';
import { operation } from '../operation.js';

function invalidToken(): never {
  throw kmsError(
    'InvalidImportTokenException',
    'The import token is invalid, was already used, or belongs to another KMS key.',
  );
}

/**
 * ImportKeyMaterial: unwrap the material inside the HSM with the token's wrapping key and
 * make it the key's backing key version (id = key material id). A re-import must be the same
 * material; it may change the expiration. The token is consumed with the import.
 */
export default operation<ImportKeyMaterialRequest, ImportKeyMaterialResponse>({
  name: 'ImportKeyMaterial',
  action: 'kms:ImportKeyMaterial',
  readOnly: false,
  async handler(ctx, input) {
    let key = await useImportKey(ctx, input.KeyId as string, 'ImportKeyMaterial');
    ctx.keyArns.push(key.arn);

    const model = String(input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES');
    if (!isExpirationModel(model)) {
      throw kmsError('ValidationException', `ExpirationModel ${model} is not valid.`);
    }
    const expirationModel: ExpirationModel = model;
    const validTo = input.ValidTo;
    if (expirationModel === 'KEY_MATERIAL_EXPIRES') {
      if (validTo === undefined) {
        throw kmsError(
          'ValidationException',
          'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES',
        );
      }
      if (validTo.getTime() <= ctx.now.getTime()) {
        throw kmsError('ValidationException', 'ValidTo must be a future date and time.');
      }
      if (validTo.getTime() > ctx.now.getTime() + MAX_VALID_TO_MS) {
        throw kmsError(
          'ValidationException',
          'ValidTo must be at most 365 days from the request date.',
        );
      }
    } else if (validTo !== undefined) {
      throw kmsError(
        'ValidationException',
        'ValidTo is not valid when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.',
      );
    }

    const state = await ctx.services.storage.imports.getImportState(key.region, key.keyId);
    /* Precondition: new material only as the first import (keyhold does not rotate imported material). */
    if (input.ImportType === 'NEW_KEY_MATERIAL' && state !== undefined) {
      throw kmsError(
        'UnsupportedOperationException',
        `${key.arn} already has imported key material; keyhold supports re-importing the same key material only (ImportType EXISTING_KEY_MATERIAL).`,
      );
    }
    if (input.ImportType === 'EXISTING_KEY_MATERIAL' && state === undefined) {
      throw kmsError(
        'IncorrectKeyMaterialException',
        `${key.arn} has no previously imported key material; use ImportType NEW_KEY_MATERIAL.`,
      );
    }
    if (input.KeyMaterialId !== undefined && input.ImportType === 'NEW_KEY_MATERIAL') {
      throw kmsError(
        'ValidationException',
        'You cannot specify KeyMaterialId with ImportType NEW_KEY_MATERIAL.',
      );
    }

    const tokenBytes = Buffer.from(input.ImportToken as Uint8Array);
    const tokenId = importTokenId(tokenBytes);
    const token = await ctx.services.storage.imports.getImportToken(tokenId);
    if (token === undefined || token.region !== key.region || token.keyId !== key.keyId) {
      return invalidToken();
    }
    if (token.validTo.getTime() <= ctx.now.getTime()) {
      throw kmsError(
        'ExpiredImportTokenException',
        'The import token has expired. Call GetParametersForImport for a new public key and import token.',
      );
    }

    const imported = ctx.services.hsm.importKeyMaterial({
      keyArn: key.arn,
      keyId: key.keyId,
      label: `${key.arn}/${tokenId}`,
      sealedPrivateKey: token.sealedPrivateKey,
      algorithm: token.wrappingAlgorithm as ImportWrappingAlgorithm,
      encryptedKeyMaterial: Buffer.from(input.EncryptedKeyMaterial as Uint8Array),
      expected: expectedMaterial(key),
    });
    /* Precondition: a re-import is the material imported before (same key material id). */
    if (state !== undefined && state.materialId !== imported.versionId) {
      throw kmsError(
        'IncorrectKeyMaterialException',
        `The key material does not match the key material previously imported into ${key.arn}.`,
      );
    }
    if (input.KeyMaterialId !== undefined && input.KeyMaterialId !== imported.versionId) {
      throw kmsError(
        'IncorrectKeyMaterialException',
        `The key material does not have the key material ID ${input.KeyMaterialId}.`,
      );
    }

    for (let attempt = 0; ; attempt++) {
      try {
        const result = await ctx.services.storage.imports.completeImport({
          key,
          tokenId,
          version: {
            region: key.region,
            keyId: key.keyId,
            versionId: imported.versionId,
            domainKeyId: imported.domainKeyId,
            ekt: imported.ekt,
            publicKey: imported.publicKey,
            createdAt: ctx.now,
          },
          // A re-import into a key that has material keeps its state (e.g. Disabled).
          keyState: key.keyState === 'PendingImport' ? 'Enabled' : key.keyState,
          expirationModel,
          validTo: expirationModel === 'KEY_MATERIAL_EXPIRES' ? validTo : undefined,
        });
        if (result.kind === 'token-used') return invalidToken();
        return { KeyId: key.arn, KeyMaterialId: imported.versionId };
      } catch (err) {
        if (!(err instanceof ConcurrentUpdateError) || attempt >= 2) throw err;
        const fresh: KeyRecord | undefined = await ctx.services.storage.getKey(
          key.region,
          key.keyId,
        );
        if (fresh === undefined) throw notFoundKey(key.arn);
        checkKeyState('ImportKeyMaterial', fresh);
        key = fresh;
      }
    }
  },
});
