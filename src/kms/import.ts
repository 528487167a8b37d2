/**
 * BYOK import (AWS "Importing key material"; reference 02 Part A "Import", Part B rows for
 * GetParametersForImport / ImportKeyMaterial / DeleteImportedKeyMaterial), shared by the
 * three operations, DescribeKey and the expiry job.
 *
 * - A key created with Origin EXTERNAL has no material and is PendingImport.
 * - GetParametersForImport makes a fresh RSA wrapping key pair in the HSM (private half stored
 *   only sealed) and an opaque import token: single use, bound to the key, valid 24 hours.
 * - ImportKeyMaterial unwraps the material inside the HSM and stores it as a key version
 *   whose id is the key material id (an HMAC of key id + material under the hierarchy), so a
 *   re-import is accepted only for the same material (IncorrectKeyMaterialException) and
 *   old ciphertexts, which name the version, decrypt again after a re-import.
 * - DeleteImportedKeyMaterial and expiry delete the EKTs and put the key in PendingImport.
 */
import { createHash } from 'node:crypto';
import { hasKeyMaterialId } from './key-metadata.js';
import type { KeyMetadata } from '@aws-sdk/client-kms';
import type { ImportedMaterialKind } from '../hsm/key-import.js';
import { kmsError } from '../protocol/errors.js';
import type { ExpirationModel } from '../storage/import-repository.js';
import type { KeyRecord, KeyState, Storage } from '../storage/repository.js';
import { ConcurrentUpdateError } from '../storage/repository.js';
import { authorizeKey } from './authorize.js';
import type { Clock, RequestContext } from './context.js';
import { resolveKey } from './key-resolver.js';
import { checkKeyState } from './key-state.js';
import { keySpecInfo } from './key-specs.js';

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

/**
 * Delete a key's imported material: its EKTs go (ciphertexts fail until the same material is
 * re-imported) and the key is PendingImport, except that a PendingDeletion key stays so.
 * Retries once when the key changed concurrently.
 */
export async function deleteMaterial(storage: Storage, key: KeyRecord): Promise<KeyRecord> {
  let current = key;
  for (let attempt = 0; ; attempt++) {
    const next: KeyState =
      current.keyState === 'PendingDeletion' || current.keyState === 'PendingReplicaDeletion'
        ? current.keyState
        : 'PendingImport';
    try {
      return await storage.imports.deleteImportedMaterial(current, next);
    } catch (err) {
      if (!(err instanceof ConcurrentUpdateError) || attempt > 2) throw err;
      const fresh = await storage.getKey(key.region, key.keyId);
      if (fresh === undefined) return current;
      current = fresh;
    }
  }
}

/**
 * KeyMetadata members of an EXTERNAL key from its import state: ExpirationModel and ValidTo
 * while material is present; after DeleteImportedKeyMaterial (or expiry) AWS keeps showing
 * the deleted material's CurrentKeyMaterialId (symmetric encryption keys only, as always).
 */
export async function importMetadata(
  storage: Storage,
  key: KeyRecord,
): Promise<Pick<KeyMetadata, 'ExpirationModel' | 'ValidTo' | 'CurrentKeyMaterialId'>> {
  if (key.origin !== 'EXTERNAL') return {};
  const state = await storage.imports.getImportState(key.region, key.keyId);
  if (state === undefined) return {};
  if (state.imported !== true || state.expirationModel === undefined) {
    return key.currentVersionId === undefined && hasKeyMaterialId(key)
      ? { CurrentKeyMaterialId: state.materialId }
      : {};
  }
  const md: Pick<KeyMetadata, 'ExpirationModel' | 'ValidTo'> = {
    ExpirationModel: state.expirationModel,
  };
  if (state.validTo !== undefined) md.ValidTo = state.validTo;
  return md;
}

export interface ImportJobDeps {
  storage: Storage;
  clock: Clock;
}

const BATCH = 500;

/**
 * The expiry job: imported material whose ValidTo has passed is deleted (the key goes to
 * PendingImport), and expired import tokens are dropped. Returns how many keys expired.
 */
export async function expireImportedMaterial(deps: ImportJobDeps): Promise<number> {
  const now = deps.clock.now();
  await deps.storage.imports.deleteExpiredImportTokens(now);
  let expired = 0;
  for (;;) {
    const due = await deps.storage.imports.listExpiredImports(now, BATCH);
    for (const s of due) {
      const key = await deps.storage.getKey(s.region, s.keyId);
      if (key === undefined) continue;
      await deleteMaterial(deps.storage, key);
      expired++;
    }
    if (due.length < BATCH) return expired;
  }
}

export function isExpirationModel(v: string): v is ExpirationModel {
  return v === 'KEY_MATERIAL_EXPIRES' || v === 'KEY_MATERIAL_DOES_NOT_EXPIRE';
}
