/**
 * Key rotation storage contract (no I/O). Per key: the automatic-rotation settings, and the
 * history of completed rotations, each naming the backing-key version it made current.
 * Deleting a key deletes both (the adapter's job, e.g. a trigger).
 */
import type { KeyRecord, KeyVersionRecord } from './repository.js';

export type RotationType = 'AUTOMATIC' | 'ON_DEMAND';

/** Automatic-rotation settings of one key (absent row = never enabled). */
export interface RotationSettingsRecord {
  region: string;
  keyId: string;
  enabled: boolean;
  rotationPeriodInDays: number;
  /** When the next automatic rotation is due; set while `enabled`. */
  nextRotationDate?: Date | undefined;
}

/** One completed rotation: `versionId` became the key's current backing key at `rotationDate`. */
export interface RotationRecord {
  region: string;
  keyId: string;
  versionId: string;
  rotationDate: Date;
  rotationType: RotationType;
}

export interface RotateKeyInput {
  /** The key as read; the rotation happens only if its revision is still `key.revision`. */
  key: KeyRecord;
  /** The new backing-key version (becomes `currentVersionId`). */
  version: KeyVersionRecord;
  rotation: RotationRecord;
  /**
   * AUTOMATIC: rotate only if the key's next_rotation_date is still `expected` (the value
   * the job read), and store `next`. This makes a due rotation happen exactly once even
   * when several runs (or nodes) race for it.
   */
  schedule?: { expected: Date; next: Date } | undefined;
  /** ON_DEMAND: refuse when the key already has this many on-demand rotations. */
  maxOnDemand?: number | undefined;
}

export type RotateKeyResult =
  | { kind: 'rotated'; key: KeyRecord }
  /** `schedule.expected` no longer matches: someone else rotated or changed the schedule. */
  | { kind: 'schedule-changed' }
  /** `maxOnDemand` reached. */
  | { kind: 'limit-exceeded' };

export interface RotationRepository {
  readonly kind: 'rotation';
  getRotationSettings(region: string, keyId: string): Promise<RotationSettingsRecord | undefined>;
  /** Insert or replace a key's settings. */
  putRotationSettings(settings: RotationSettingsRecord): Promise<void>;
  /**
   * Rotate atomically: insert the new version, make it the key's current version (revision
   * + 1), record the rotation and, for a scheduled rotation, move next_rotation_date. Throws
   * ConcurrentUpdateError when the key's revision changed; nothing is written unless the
   * result is `rotated`.
   */
  rotateKey(input: RotateKeyInput): Promise<RotateKeyResult>;
  /**
   * Every completed rotation of a key, oldest first (by rotation date, then version id). A
   * key has few: at most 25 on demand, and automatic ones are at least 90 days apart.
   */
  listRotations(region: string, keyId: string): Promise<RotationRecord[]>;
  countRotations(region: string, keyId: string, type: RotationType): Promise<number>;
  /**
   * Enabled settings of Enabled keys whose next rotation date is at or before `before`,
   * soonest first (any account/Region). A key that is Disabled or PendingDeletion is not
   * rotated; once Enabled again it is due at once if its date has passed (AWS's rule).
   */
  listDueRotations(before: Date, limit: number): Promise<RotationSettingsRecord[]>;
}
