import type { ImportKeyMaterialRequest, ImportKeyMaterialResponse } from '@aws-sdk/client-kms';
import type { ImportWrappingAlgorithm } from '../../hsm/key-import.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { ExpirationModel, ImportedMaterialRecord } from '../../storage/import-repository.js';
import { ConcurrentUpdateError, type KeyRecord } from '../../storage/repository.js';
import {
  expectedMaterial,
  importTokenId,
  isExpirationModel,
  MAX_VALID_TO_MS,
  rotatesImportedMaterial,
  useImportKey,
} from '../material/import-material.js';
import { checkKeyState } from '../keys/key-state.js';
import { notFoundKey } from '../keys/key-resolver.js';
import { operation } from '../operation.js';

function invalidToken(): never {
  throw kmsError(
    'InvalidImportTokenException',
    'The import token is invalid, was already used, or belongs to another KMS key.',
  );
}

/**
 * A PendingImport key becomes Enabled once every permanently associated material (all but
 * the one pending rotation) is imported; any other state stays (e.g. Disabled).
 */
function stateAfterImport(
  key: KeyRecord,
  materials: readonly ImportedMaterialRecord[],
  material: ImportedMaterialRecord,
): KeyRecord['keyState'] {
  if (key.keyState !== 'PendingImport') return key.keyState;
  const all = [...materials.filter((m) => m.materialId !== material.materialId), material];
  return all.every((m) => m.pendingRotation || m.imported) ? 'Enabled' : 'PendingImport';
}

/**
 * ImportKeyMaterial: unwrap the material inside the HSM with the token's wrapping key and
 * store it as a key version (id = key material id). The first import makes it current;
 * NEW_KEY_MATERIAL afterwards (symmetric keys) leaves it PENDING_ROTATION for
 * RotateKeyOnDemand; EXISTING_KEY_MATERIAL re-imports material of this key (and may change
 * its expiration). The token is consumed with the import.
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

    const materials = await ctx.services.storage.imports.listImportedMaterials(
      key.region,
      key.keyId,
    );
    const symmetric = rotatesImportedMaterial(key);
    /* Precondition: the newer members are for symmetric encryption keys only (model doc). */
    if (!symmetric && input.KeyMaterialDescription !== undefined) {
      throw kmsError(
        'ValidationException',
        'KeyMaterialDescription is only usable with symmetric encryption KMS keys.',
      );
    }
    // Model: NEW_KEY_MATERIAL when nothing was ever imported, else EXISTING_KEY_MATERIAL.
    const importType =
      input.ImportType ?? (materials.length === 0 ? 'NEW_KEY_MATERIAL' : 'EXISTING_KEY_MATERIAL');
    if (input.KeyMaterialId !== undefined && importType === 'NEW_KEY_MATERIAL') {
      throw kmsError(
        'ValidationException',
        'You cannot specify KeyMaterialId with ImportType NEW_KEY_MATERIAL.',
      );
    }
    if (importType === 'EXISTING_KEY_MATERIAL' && materials.length === 0) {
      throw kmsError(
        'IncorrectKeyMaterialException',
        `${key.arn} has no previously imported key material; use ImportType NEW_KEY_MATERIAL.`,
      );
    }
    const rotation = importType === 'NEW_KEY_MATERIAL' && materials.length > 0;
    /* Precondition: only symmetric keys take more than one material (AWS). */
    if (rotation && !symmetric) {
      throw kmsError(
        'UnsupportedOperationException',
        `${key.arn} already has imported key material; key spec ${key.keySpec} cannot have more than one (only symmetric encryption keys rotate imported key material).`,
      );
    }
    /* Precondition: at most one material waits for rotation at a time. */
    const waiting = materials.find((m) => m.pendingRotation);
    if (rotation && waiting !== undefined) {
      throw kmsError(
        'KMSInvalidStateException',
        `${key.arn} already has key material pending rotation (${waiting.materialId}); rotate the key with RotateKeyOnDemand or delete that key material first.`,
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
    const known = materials.find((m) => m.materialId === imported.versionId);
    /* Precondition: new material is new; a re-import is material of this key. */
    if (importType === 'NEW_KEY_MATERIAL' && known !== undefined) {
      throw kmsError(
        'IncorrectKeyMaterialException',
        `The key material is already associated with ${key.arn} as ${known.materialId}; use ImportType EXISTING_KEY_MATERIAL to re-import it.`,
      );
    }
    if (importType === 'EXISTING_KEY_MATERIAL' && known === undefined) {
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
    const material: ImportedMaterialRecord = {
      region: key.region,
      keyId: key.keyId,
      materialId: imported.versionId,
      pendingRotation: known?.pendingRotation ?? rotation,
      imported: true,
      expirationModel,
      validTo: expirationModel === 'KEY_MATERIAL_EXPIRES' ? validTo : undefined,
      description: input.KeyMaterialDescription ?? known?.description,
      associatedAt: known?.associatedAt ?? ctx.now,
    };

    for (let attempt = 0; ; attempt++) {
      try {
        const currentVersionId = key.currentVersionId ?? imported.versionId;
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
          currentVersionId,
          keyState: stateAfterImport(key, materials, material),
          material,
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
