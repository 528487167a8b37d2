import type {
  DeleteImportedKeyMaterialRequest,
  DeleteImportedKeyMaterialResponse,
} from '@aws-sdk/client-kms';
import { kmsError } from '../../protocol/errors.js';
import { deleteMaterial, useImportKey } from '../import.js';
import { operation } from '../operation.js';

/**
 * DeleteImportedKeyMaterial: the key's EKTs are deleted at once and the key is PendingImport
 * (a PendingDeletion key stays PendingDeletion); on a PendingImport key it has no effect.
 * Re-importing the same material makes the key and its ciphertexts usable again.
 */
export default operation<DeleteImportedKeyMaterialRequest, DeleteImportedKeyMaterialResponse>({
  name: 'DeleteImportedKeyMaterial',
  action: 'kms:DeleteImportedKeyMaterial',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useImportKey(ctx, input.KeyId as string, 'DeleteImportedKeyMaterial');
    ctx.keyArns.push(key.arn);
    const materialId = key.currentVersionId;
    if (input.KeyMaterialId !== undefined && input.KeyMaterialId !== materialId) {
      throw kmsError(
        'NotFoundException',
        `Key material ${input.KeyMaterialId} is not the current key material of ${key.arn}.`,
      );
    }
    if (materialId === undefined) return { KeyId: key.arn };
    await deleteMaterial(ctx.services.storage, key);
    return { KeyId: key.arn, KeyMaterialId: materialId };
  },
});
