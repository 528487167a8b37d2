import type {
  DeleteImportedKeyMaterialRequest,
  DeleteImportedKeyMaterialResponse,
} from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { deleteMaterial, useImportKey } from '../material/import-material.js';
import { operation } from '../operation.js';

/**
 * DeleteImportedKeyMaterial: the named material (default: the current one) loses its EKT at
 * once. Deleting permanently associated material puts the key in PendingImport (a
 * PendingDeletion key stays PendingDeletion); deleting material pending rotation forgets it
 * and leaves the key as it is. Deleting material that is already gone has no effect.
 * Re-importing the same material makes the key and its ciphertexts usable again.
 */
export default operation<DeleteImportedKeyMaterialRequest, DeleteImportedKeyMaterialResponse>({
  name: 'DeleteImportedKeyMaterial',
  action: 'kms:DeleteImportedKeyMaterial',
  readOnly: false,
  async handler(ctx, input) {
    const key = await useImportKey(ctx, input.KeyId as string, 'DeleteImportedKeyMaterial');
    ctx.keyArns.push(key.arn);
    const materialId = input.KeyMaterialId ?? key.currentVersionId;
    if (materialId === undefined) return { KeyId: key.arn };
    const materials = await ctx.services.storage.imports.listImportedMaterials(
      key.region,
      key.keyId,
    );
    const material = materials.find((m) => m.materialId === materialId);
    /* Precondition: a named material is one of this key's (ListKeyRotations lists them). */
    if (material === undefined) {
      throw kmsError(
        'NotFoundException',
        `Key material ${materialId} is not associated with ${key.arn}.`,
      );
    }
    if (material.imported) await deleteMaterial(ctx.services.storage, key, material);
    return { KeyId: key.arn, KeyMaterialId: materialId };
  },
});
