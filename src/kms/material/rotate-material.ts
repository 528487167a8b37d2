/**
 * Key material rotation, shared by the rotation operations and the background job.
 *
 * A rotation makes a new HSM backing key (HBK) version the key's current one: new
 * encryptions use it, every older version stays in key_versions and keeps decrypting the
 * ciphertexts that name it (AWS KMS cryptographic details, "rotation"). The
 * key id, ARN, policy, aliases and grants do not change.
 *
 * Rules (API model docs for EnableKeyRotation, RotateKeyOnDemand, GetKeyRotationStatus;
 * KMS Developer Guide rotate-keys.md and key-state.md):
 * - Only symmetric encryption keys (SYMMETRIC_DEFAULT) rotate: automatically and on demand
 *   with KMS-generated material, on demand only with imported material (to material
 *   imported with ImportType NEW_KEY_MATERIAL); asymmetric, HMAC and custom-key-store keys
 *   get UnsupportedOperationException. GetKeyRotationStatus answers `false` for asymmetric and
 *   HMAC keys (Part B [7] names only imported material and custom key stores as errors).
 * - RotationPeriodInDays 90–2560 (validated from the model), default 365.
 * - At most 25 on-demand rotations per key (LimitExceededException); ConflictException while
 *   an automatic rotation is due now or within the next 20 minutes.
 */
import { randomBytes } from 'node:crypto';
import type { Hsm } from '../../hsm/hsm.js';
import { kmsError } from '../../errors/aws-errors.js';
import { ConcurrentUpdateError, type KeyRecord, type Storage } from '../../storage/repository.js';
import type {
  RotateKeyResult,
  RotationSettingsRecord,
  RotationType,
} from '../../storage/rotation-repository.js';
import { authorizeKey, type AuthorizeOptions } from '../access/authorize.js';
import type { RequestContext } from '../context.js';
import { notFoundKey, resolveKey } from '../keys/key-resolver.js';
import { checkKeyState } from '../keys/key-state.js';
import { multiRegionMembers, primaryOf, rebindVersion } from '../keys/multi-region.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_ROTATION_PERIOD_DAYS = 365;
/** RotateKeyOnDemand: "a maximum of 25 times per KMS key" (model doc). */
export const MAX_ON_DEMAND_ROTATIONS = 25;
/** ConflictException: automatic rotation "scheduled to begin within the next 20 minutes". */
export const ON_DEMAND_CONFLICT_WINDOW_MS = 20 * 60 * 1000;

/** Origins whose keys live in a custom key store. */
const CUSTOM_KEY_STORE_ORIGINS = new Set(['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE']);

/** Key material that keyhold can rotate: a symmetric encryption key of a KMS-generated origin. */
export function hasRotatableSpec(key: KeyRecord): boolean {
  return key.keySpec === 'SYMMETRIC_DEFAULT' && key.keyUsage === 'ENCRYPT_DECRYPT';
}

type RotationOperation =
  | 'EnableKeyRotation'
  | 'DisableKeyRotation'
  | 'GetKeyRotationStatus'
  | 'RotateKeyOnDemand'
  | 'ListKeyRotations';

/**
 * Refuse keys whose kind cannot rotate. Checked before the key state: Part B gives the
 * [7] error (imported material, custom key store) even for a Disabled or PendingDeletion key.
 */
export function checkRotationSupported(key: KeyRecord, operation: RotationOperation): void {
  const unsupported = (text: string) =>
    kmsError('UnsupportedOperationException', `${key.arn} ${text}`);
  if (CUSTOM_KEY_STORE_ORIGINS.has(key.origin))
    throw unsupported('is in a custom key store, which does not support key rotation.');
  // Part B [6]: no automatic rotation of imported material. On demand, a symmetric key
  // rotates to material imported with ImportType NEW_KEY_MATERIAL (rotate-imported-material.ts).
  if (
    key.origin === 'EXTERNAL' &&
    operation !== 'ListKeyRotations' &&
    !(operation === 'RotateKeyOnDemand' && hasRotatableSpec(key))
  )
    throw unsupported('origin is EXTERNAL which is not valid for this operation.');
  if (key.origin === 'EXTERNAL' && key.multiRegion && operation === 'RotateKeyOnDemand')
    throw unsupported(
      'is a multi-Region key with imported key material; keyhold does not rotate those.',
    );
  if (key.keyManager === 'AWS' && operation !== 'GetKeyRotationStatus')
    throw unsupported('is an AWS managed key, whose rotation is not configurable.');
  // ListKeyRotations refuses keys that cannot rotate at once; the others check the key spec
  // after the key state (useRotationKey).
  if (operation === 'ListKeyRotations' && !hasRotatableSpec(key))
    throw unsupported(
      `key spec ${key.keySpec} does not support key rotation; only symmetric encryption keys rotate.`,
    );
}

/** Resolve (key id or ARN only), authorize, refuse unsupported kinds, check the key state. */
export async function useRotationKey(
  ctx: RequestContext,
  keyId: string,
  operation: RotationOperation,
  authz?: AuthorizeOptions,
): Promise<KeyRecord> {
  const key = await resolveKey(ctx, keyId, { aliases: false });
  await authorizeKey(ctx, key, `kms:${operation}`, authz);
  checkRotationSupported(key, operation);
  // Multi-Region keys: rotation is a shared property, set and run on the primary only.
  if (
    key.multiRegion &&
    (operation === 'EnableKeyRotation' ||
      operation === 'DisableKeyRotation' ||
      operation === 'RotateKeyOnDemand')
  ) {
    const members = await multiRegionMembers(ctx.services.storage, key);
    if (primaryOf(members)?.region !== key.region)
      throw kmsError(
        'UnsupportedOperationException',
        `${key.arn} is a multi-region replica key; manage its rotation on the primary key.`,
      );
  }
  checkKeyState(operation, key);
  /* Precondition: only symmetric encryption keys rotate. AWS checks this after the key state
     (a disabled RSA key is DisabledException) and sends no message; DisableKeyRotation of a
     key that cannot rotate succeeds (there is nothing to turn off). */
  if (
    (operation === 'EnableKeyRotation' || operation === 'RotateKeyOnDemand') &&
    !hasRotatableSpec(key)
  )
    throw kmsError('UnsupportedOperationException', '');
  return key;
}

/**
 * Whether automatic rotation is on for GetKeyRotationStatus: "While a KMS key is pending
 * deletion, its key rotation status is false ... If you cancel the deletion, the original
 * key rotation status returns" (model doc); a Disabled key keeps its status.
 */
export function rotationEnabled(
  key: KeyRecord,
  settings: RotationSettingsRecord | undefined,
): settings is RotationSettingsRecord & { nextRotationDate: Date } {
  return (
    settings !== undefined &&
    settings.enabled &&
    settings.nextRotationDate !== undefined &&
    key.keyState !== 'PendingDeletion' &&
    key.keyState !== 'PendingReplicaDeletion'
  );
}

/**
 * The next automatic rotation date when EnableKeyRotation sets `periodDays`. Enabling afresh:
 * now + period ("the number of days after you enable automatic key rotation", model doc).
 * Changing the period of an enabled schedule: the schedule's anchor (its enable date or last
 * automatic rotation, i.e. next − old period) + new period; if that is already past, the
 * job rotates at its next run. On-demand rotations never move the schedule.
 */
export function nextRotationDate(
  settings: RotationSettingsRecord | undefined,
  periodDays: number,
  now: Date,
): Date {
  if (settings?.enabled === true && settings.nextRotationDate !== undefined) {
    const anchor = settings.nextRotationDate.getTime() - settings.rotationPeriodInDays * DAY_MS;
    return new Date(anchor + periodDays * DAY_MS);
  }
  return new Date(now.getTime() + periodDays * DAY_MS);
}

export interface RotationDeps {
  storage: Storage;
  /** `rebind`: a multi-Region primary's new material is copied to its replicas. */
  hsm: Pick<Hsm, 'createBackingKey'> & Partial<Pick<Hsm, 'rebind'>>;
}

export interface RotateOptions {
  type: RotationType;
  now: Date;
  /** AUTOMATIC: the due date read by the job and the one to store (conditional update). */
  schedule?: { expected: Date; next: Date } | undefined;
  maxOnDemand?: number | undefined;
  /**
   * After a concurrent change of the key: check the fresh record (throw to fail, return
   * false to give up quietly).
   */
  recheck(fresh: KeyRecord): boolean;
}

/**
 * Rotate a key's material: a new HBK version (64 hex characters, the KeyMaterialId) wrapped
 * by the HSM, stored and made current together with the rotation record, in one storage
 * transaction. Returns undefined when `recheck` gave up.
 */
export async function rotateKeyMaterial(
  deps: RotationDeps,
  key: KeyRecord,
  opts: RotateOptions,
): Promise<RotateKeyResult | undefined> {
  const versionId = randomBytes(32).toString('hex');
  const wrapped = deps.hsm.createBackingKey({ keyArn: key.arn, versionId });
  let current = key;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await deps.storage.rotation.rotateKey({
        key: current,
        version: {
          region: key.region,
          keyId: key.keyId,
          versionId,
          ...wrapped,
          createdAt: opts.now,
        },
        rotation: {
          region: key.region,
          keyId: key.keyId,
          versionId,
          rotationDate: opts.now,
          rotationType: opts.type,
        },
        schedule: opts.schedule,
        maxOnDemand: opts.maxOnDemand,
      });
      if (result.kind === 'rotated' && key.multiRegion)
        await rotateReplicas(deps, result.key, versionId, opts);
      return result;
    } catch (err) {
      if (!(err instanceof ConcurrentUpdateError) || attempt >= 5) throw err;
      const fresh = await deps.storage.getKey(key.region, key.keyId);
      if (fresh === undefined) throw notFoundKey(key.arn);
      if (!opts.recheck(fresh)) return undefined;
      current = fresh;
    }
  }
}

/**
 * Multi-Region keys share their key material: a rotation of the primary adds the same
 * version (same version id, re-sealed for each replica's ARN) to every replica and makes it
 * current there too, so ciphertexts made anywhere decrypt everywhere.
 */
async function rotateReplicas(
  deps: RotationDeps,
  primary: KeyRecord,
  versionId: string,
  opts: RotateOptions,
): Promise<void> {
  const rebind = deps.hsm.rebind?.bind(deps.hsm);
  if (rebind === undefined) return;
  const version = await deps.storage.getKeyVersion(primary.region, primary.keyId, versionId);
  if (version === undefined) return;
  const members = await deps.storage.multiRegion.listMembers(primary.accountId, primary.keyId);
  for (const m of members) {
    if (m.role !== 'REPLICA' || m.region === primary.region) continue;
    for (let attempt = 0; attempt < 6; attempt++) {
      const replica = await deps.storage.getKey(m.region, m.keyId);
      if (replica === undefined) break;
      const copy = rebindVersion({ rebind }, primary, version, replica, opts.now);
      try {
        await deps.storage.rotation.rotateKey({
          key: replica,
          version: copy,
          rotation: {
            region: replica.region,
            keyId: replica.keyId,
            versionId,
            rotationDate: opts.now,
            rotationType: opts.type,
          },
        });
        break;
      } catch (err) {
        if (!(err instanceof ConcurrentUpdateError)) throw err;
      }
    }
  }
}
