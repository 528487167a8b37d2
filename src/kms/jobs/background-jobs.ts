/**
 * Background jobs of a keyhold node: replicas whose creation a restart interrupted, keys
 * deleted after their waiting period, and domain-key rotation with the rewrap of EKTs onto
 * the new domain key. Time comes from the injectable clock so tests can move it.
 */
import type { Hsm } from '../../hsm/hsm.js';
import type { Storage } from '../../storage/repository.js';
import type { Clock } from '../../config/clock.js';
import type { DomainKeys } from '../crypto/domain-keys.js';
import { afterMultiRegionKeyDeleted } from '../keys/multi-region.js';
import { expireImportedMaterial } from '../material/import-material.js';
import { finishDueReplicas } from './replica-creation.js';
import { rotateDueKeys } from './automatic-rotation.js';
import type { CustomKeyStoreService } from '../../keystores/service.js';
import { isCustomStoreKey } from '../../keystores/custom-key-view.js';

export interface JobDeps {
  storage: Storage;
  hsm: Hsm;
  /** The domain keys (stored wrapped, held by the HSM): rotated and dropped by the jobs. */
  domainKeys: DomainKeys;
  clock: Clock;
  domainKeyRotationHours: number;
  /** Custom key stores: the backing key of a deleted key is removed from its store. */
  customKeyStores?: CustomKeyStoreService | undefined;
  /** How long a replica stays Creating (config replicaCreationMs). */
  replicaCreationMs?: number | undefined;
}

const BATCH = 500;

/** Really delete keys whose waiting period is over: their EKTs go, so their ciphertexts are dead. */
export async function deleteDueKeys(deps: JobDeps): Promise<number> {
  let deleted = 0;
  for (;;) {
    const due = await deps.storage.listKeysDueForDeletion(deps.clock.now(), BATCH);
    for (const key of due) {
      // Best effort, as AWS: the key is deleted even when its backing key cannot be.
      if (deps.customKeyStores !== undefined && isCustomStoreKey(key))
        await deps.customKeyStores.deleteBackingKey(key);
      await deps.storage.deleteKey(key.region, key.keyId);
      if (key.multiRegion) await afterMultiRegionKeyDeleted(deps.storage, key, deps.clock.now());
    }
    deleted += due.length;
    if (due.length < BATCH) return deleted;
  }
}

/** Rotate the domain key when it is older than the rotation period. */
export async function rotateDomainKeyIfDue(deps: JobDeps): Promise<boolean> {
  const created = deps.domainKeys.status().activeCreatedAt;
  if (created === undefined) throw new Error('no active domain key');
  const age = deps.clock.now().getTime() - created.getTime();
  if (age < deps.domainKeyRotationHours * 3600_000) return false;
  await deps.domainKeys.rotate(deps.clock.now());
  return true;
}

/**
 * Move every EKT wrapped under an old domain key to the active one, then forget the old
 * domain keys nothing refers to any more.
 */
export async function rewrapOldDomainKeys(deps: JobDeps): Promise<number> {
  let moved = 0;
  const { ids, activeId } = deps.domainKeys.status();
  for (const id of ids) {
    if (id === activeId) continue;
    for (;;) {
      const versions = await deps.storage.listVersionsByDomainKey(id, BATCH);
      let progress = 0;
      for (const v of versions) {
        const key = await deps.storage.getKey(v.region, v.keyId);
        if (key === undefined) continue;
        const next = deps.hsm.rewrap({ keyArn: key.arn, versionId: v.versionId }, v);
        if (await deps.storage.replaceEkt({ ...v, ...next }, id)) progress++;
      }
      moved += progress;
      if (versions.length < BATCH || progress === 0) break;
    }
    if ((await deps.storage.listVersionsByDomainKey(id, 1)).length === 0)
      await deps.domainKeys.drop(id);
  }
  return moved;
}

/** Run every job once (a tick of the scheduler). */
export async function runJobsOnce(deps: JobDeps): Promise<void> {
  await finishDueReplicas(deps);
  await deleteDueKeys(deps);
  await rotateDueKeys(deps);
  await expireImportedMaterial(deps);
  await rotateDomainKeyIfDue(deps);
  await rewrapOldDomainKeys(deps);
}
