/**
 * On-demand rotation of imported key material (RotateKeyOnDemand on a symmetric EXTERNAL
 * key): the material imported with ImportType NEW_KEY_MATERIAL, waiting in PENDING_ROTATION,
 * becomes current; the previous material stays, NON_CURRENT, and keeps decrypting. Without
 * such material AWS answers `No available key material pending rotation for the key: <ARN>.`
 */
import { kmsError } from '../../errors/aws-errors.js';
import { ConcurrentUpdateError, type KeyRecord } from '../../storage/repository.js';
import type { RequestContext } from '../context.js';
import { notFoundKey } from '../keys/key-resolver.js';
import { checkKeyState } from '../keys/key-state.js';

export async function rotateToImportedMaterial(
  ctx: RequestContext,
  key: KeyRecord,
  maxOnDemand: number,
): Promise<void> {
  const storage = ctx.services.storage;
  let current = key;
  for (let attempt = 0; ; attempt++) {
    const materials = await storage.imports.listImportedMaterials(current.region, current.keyId);
    const pending = materials.find((m) => m.pendingRotation && m.imported);
    /* Precondition: new material was imported for this rotation. */
    if (pending === undefined) {
      throw kmsError(
        'KMSInvalidStateException',
        `No available key material pending rotation for the key: ${current.arn}.`,
      );
    }
    try {
      const result = await storage.imports.rotateToImportedMaterial({
        key: current,
        materialId: pending.materialId,
        rotation: {
          region: current.region,
          keyId: current.keyId,
          versionId: pending.materialId,
          rotationDate: ctx.now,
          rotationType: 'ON_DEMAND',
        },
        maxOnDemand,
      });
      if (result.kind === 'limit-exceeded') {
        throw kmsError(
          'LimitExceededException',
          `${current.arn} has reached the maximum of ${maxOnDemand} on-demand rotations.`,
        );
      }
      return;
    } catch (err) {
      if (!(err instanceof ConcurrentUpdateError) || attempt >= 2) throw err;
      const fresh = await storage.getKey(key.region, key.keyId);
      if (fresh === undefined) throw notFoundKey(key.arn);
      checkKeyState('RotateKeyOnDemand', fresh);
      current = fresh;
    }
  }
}
