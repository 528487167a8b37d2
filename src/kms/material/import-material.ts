/**
 * BYOK import (KMS Developer Guide "Importing key material"; the API reference and the
 * devguide key-state.md rows for GetParametersForImport / ImportKeyMaterial /
 * DeleteImportedKeyMaterial), shared by the
 * three operations, DescribeKey and the expiry job.
 *
 * - A key created with Origin EXTERNAL has no material and is PendingImport.
 * - GetParametersForImport makes a fresh RSA wrapping key pair in the HSM (private half stored
 *   only sealed) and an opaque import token: single use, bound to the key, valid 24 hours.
 * - ImportKeyMaterial unwraps the material inside the HSM and stores it as a key version
 *   whose id is the key material id (an HMAC of key id + material under the hierarchy), so a
 *   re-import (EXISTING_KEY_MATERIAL) is accepted only for material already associated with
 *   the key (IncorrectKeyMaterialException) and old ciphertexts, which name the version,
 *   decrypt again after a re-import.
 * - Symmetric keys also take NEW_KEY_MATERIAL after the first import: it waits in
 *   PENDING_ROTATION until RotateKeyOnDemand makes it current; older materials keep
 *   decrypting.
 * - DeleteImportedKeyMaterial and expiry delete one material's EKT; losing a permanently
 *   associated material puts the key in PendingImport.
 */
import { createHash } from 'node:crypto';
import { hasKeyMaterialId } from '../keys/key-metadata.js';
import type { KeyMetadata } from '@aws-sdk/client-kms';
import type { ImportedMaterialKind } from '../../hsm/key-import.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { ExpirationModel, ImportedMaterialRecord } from '../../storage/import-repository.js';
import type { KeyRecord, KeyState, Storage } from '../../storage/repository.js';
import { ConcurrentUpdateError } from '../../storage/repository.js';
import { authorizeKey } from '../access/authorize.js';
import type { Clock, RequestContext } from '../context.js';
import { resolveKey } from '../keys/key-resolver.js';
import { checkKeyState } from '../keys/key-state.js';
import { keySpecInfo } from '../keys/key-specs.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** "Each public key and import token set is valid for 24 hours" (GetParametersForImport doc). */
export const IMPORT_TOKEN_VALIDITY_MS = DAY_MS;
/** ValidTo: "The maximum value is 365 days from the request date" (ImportKeyMaterial doc). */
export const MAX_VALID_TO_MS = 365 * DAY_MS;
export const IMPORT_TOKEN_PREFIX = Buffer.from('khimp1', 'utf8');

export type ImportOperation =
  'GetParametersForImport' | 'ImportKeyMaterial' | 'DeleteImportedKeyMaterial';

/**
 * Resolve (key id or ARN only), authorize, refuse keys that cannot have imported material
 * (Part B [9]: checked before the key state), then the key-state table.
 */
export async function useImportKey(
  ctx: RequestContext,
  keyId: string,
  operation: ImportOperation,
): Promise<KeyRecord> {
  const key = await resolveKey(ctx, keyId, { aliases: false });
  await authorizeKey(ctx, key, `kms:${operation}`);
  if (key.origin !== 'EXTERNAL') {
    throw kmsError(
      'UnsupportedOperationException',
      `${key.arn} origin is ${key.origin} which is not valid for this operation.`,
    );
  }
  checkKeyState(operation, key);
  return key;
}

/**
 * What a key spec's imported material must be. AWS: symmetric keys take a 256-bit key;
 * HMAC keys a key of the spec's minimum length up to the hash block size (HMAC_224 and
 * HMAC_256 28/32–64 bytes, HMAC_384 and HMAC_512 48/64–128 bytes); asymmetric keys a DER
 * PKCS #8 private key of the spec.
 */
export function expectedMaterial(key: KeyRecord): ImportedMaterialKind {
  const info = keySpecInfo(key.keySpec);
  if (info?.keyPair !== undefined) return { kind: 'key-pair', params: info.keyPair };
  if (info?.hmacKeyBytes !== undefined) {
    return {
      kind: 'secret',
      minBytes: info.hmacKeyBytes,
      maxBytes: info.hmacKeyBytes <= 32 ? 64 : 128,
    };
  }
  return { kind: 'secret', minBytes: 32, maxBytes: 32 };
}

/** The stored id of an opaque import token (the token itself is never stored). */
export function importTokenId(token: Uint8Array): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether the key can hold several imported materials (AWS: symmetric encryption keys). */
export function rotatesImportedMaterial(key: KeyRecord): boolean {
  return key.keySpec === 'SYMMETRIC_DEFAULT';
}

/**
 * Delete one imported material: its EKT goes at once. Material pending rotation is simply
 * forgotten (it was never used, and the key's state does not change). Permanently associated
 * material (current or not) stays listed as PENDING_IMPORT and the key becomes PendingImport,
 * as AWS does ("if you delete any of them ... the key state becomes PendingImport"); a
 * PendingDeletion key stays so. Its ciphertexts decrypt again once the same material is
 * re-imported. Retries when the key changed concurrently.
 */
export async function deleteMaterial(
  storage: Storage,
  key: KeyRecord,
  material: ImportedMaterialRecord,
): Promise<KeyRecord> {
  let current = key;
  for (let attempt = 0; ; attempt++) {
    const next: KeyState =
      material.pendingRotation ||
      current.keyState === 'PendingDeletion' ||
      current.keyState === 'PendingReplicaDeletion'
        ? current.keyState
        : 'PendingImport';
    try {
      return await storage.imports.deleteImportedMaterial({
        key: current,
        materialId: material.materialId,
        keyState: next,
        forget: material.pendingRotation,
      });
    } catch (err) {
      if (!(err instanceof ConcurrentUpdateError) || attempt > 2) throw err;
      const fresh = await storage.getKey(key.region, key.keyId);
      if (fresh === undefined) return current;
      current = fresh;
    }
  }
}

/**
 * KeyMetadata members of an EXTERNAL key from its current material: ExpirationModel and
 * ValidTo while it is imported. After DeleteImportedKeyMaterial (or expiry) AWS keeps showing
 * the deleted material's CurrentKeyMaterialId (symmetric encryption keys only, as always);
 * keyhold keeps the current version for that, and a key whose material was deleted before
 * keyhold kept it (no current version) shows its material's id from the import record.
 */
export async function importMetadata(
  storage: Storage,
  key: KeyRecord,
): Promise<Pick<KeyMetadata, 'ExpirationModel' | 'ValidTo' | 'CurrentKeyMaterialId'>> {
  if (key.origin !== 'EXTERNAL') return {};
  const materials = await storage.imports.listImportedMaterials(key.region, key.keyId);
  if (key.currentVersionId === undefined) {
    const first = materials.find((x) => !x.pendingRotation);
    return first !== undefined && hasKeyMaterialId(key)
      ? { CurrentKeyMaterialId: first.materialId }
      : {};
  }
  const m = materials.find((x) => x.materialId === key.currentVersionId);
  if (m?.imported !== true || m.expirationModel === undefined) return {};
  const md: Pick<KeyMetadata, 'ExpirationModel' | 'ValidTo'> = {
    ExpirationModel: m.expirationModel,
  };
  if (m.validTo !== undefined) md.ValidTo = m.validTo;
  return md;
}

export interface ImportJobDeps {
  storage: Storage;
  clock: Clock;
}

const BATCH = 500;

/**
 * The expiry job: imported material whose ValidTo has passed is deleted (deleteMaterial:
 * permanently associated material puts the key in PendingImport), and expired import tokens
 * are dropped. Returns how many materials expired.
 */
export async function expireImportedMaterial(deps: ImportJobDeps): Promise<number> {
  const now = deps.clock.now();
  await deps.storage.imports.deleteExpiredImportTokens(now);
  let expired = 0;
  for (;;) {
    const due = await deps.storage.imports.listExpiredImports(now, BATCH);
    for (const m of due) {
      const key = await deps.storage.getKey(m.region, m.keyId);
      if (key === undefined) continue;
      await deleteMaterial(deps.storage, key, m);
      expired++;
    }
    if (due.length < BATCH) return expired;
  }
}

export function isExpirationModel(v: string): v is ExpirationModel {
  return v === 'KEY_MATERIAL_EXPIRES' || v === 'KEY_MATERIAL_DOES_NOT_EXPIRE';
}
