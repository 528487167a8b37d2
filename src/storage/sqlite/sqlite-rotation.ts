/**
 * SQLite adapter of the rotation repository. It shares the database with SqliteStorage,
 * so a rotation (new version + current version + history + schedule) is one transaction.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type {
  RotateKeyInput,
  RotateKeyResult,
  RotationRecord,
  RotationRepository,
  RotationSettingsRecord,
  RotationType,
} from '../rotation-repository.js';
import { keyVersionWrites, type KeyVersionWrites } from './key-version-writes.js';

type Row = Record<string, unknown>;

export class SqliteRotationRepository implements RotationRepository {
  readonly kind = 'rotation';
  readonly #s: ReturnType<typeof prepare>;
  readonly #versions: KeyVersionWrites;

  constructor(
    readonly db: BetterSqlite3.Database,
    changes?: { record(payload: string): void },
  ) {
    this.#s = prepare(db);
    this.#versions = keyVersionWrites(db, changes);
  }

  async getRotationSettings(
    region: string,
    keyId: string,
  ): Promise<RotationSettingsRecord | undefined> {
    const row = this.#s.getSettings.get(region, keyId) as Row | undefined;
    return row === undefined ? undefined : rowToSettings(row);
  }

  async putRotationSettings(s: RotationSettingsRecord): Promise<void> {
    this.#s.putSettings.run(
      s.region,
      s.keyId,
      s.enabled ? 1 : 0,
      s.rotationPeriodInDays,
      s.nextRotationDate?.getTime() ?? null,
    );
  }

  async rotateKey(input: RotateKeyInput): Promise<RotateKeyResult> {
    const { key, version, rotation, schedule, maxOnDemand } = input;
    return this.db.transaction((): RotateKeyResult => {
      if (schedule !== undefined) {
        const moved = this.#s.moveSchedule.run(
          schedule.next.getTime(),
          key.region,
          key.keyId,
          schedule.expected.getTime(),
        );
        if (moved.changes !== 1) return { kind: 'schedule-changed' };
      }
      if (maxOnDemand !== undefined) {
        const { n } = this.#s.countRotations.get(key.region, key.keyId, 'ON_DEMAND') as {
          n: number;
        };
        if (n >= maxOnDemand) return { kind: 'limit-exceeded' };
      }
      // A concurrent change throws, which rolls back the schedule move above.
      const next = this.#versions.setCurrent(key, version.versionId);
      this.#versions.insert(version);
      this.#s.insertRotation.run(
        rotation.region,
        rotation.keyId,
        rotation.versionId,
        rotation.rotationDate.getTime(),
        rotation.rotationType,
      );
      return { kind: 'rotated', key: next };
    })();
  }

  async listRotations(region: string, keyId: string): Promise<RotationRecord[]> {
    return (this.#s.listRotations.all(region, keyId) as Row[]).map((r) => ({
      region: String(r.region),
      keyId: String(r.key_id),
      versionId: String(r.version_id),
      rotationDate: new Date(Number(r.rotation_date)),
      rotationType: String(r.rotation_type) as RotationType,
    }));
  }

  async countRotations(region: string, keyId: string, type: RotationType): Promise<number> {
    return (this.#s.countRotations.get(region, keyId, type) as { n: number }).n;
  }

  async listDueRotations(before: Date, limit: number): Promise<RotationSettingsRecord[]> {
    return (this.#s.due.all(before.getTime(), limit) as Row[]).map(rowToSettings);
  }
}

function prepare(db: BetterSqlite3.Database) {
  return {
    getSettings: db.prepare('SELECT * FROM key_rotation_settings WHERE region = ? AND key_id = ?'),
    putSettings: db.prepare(
      `INSERT INTO key_rotation_settings (region, key_id, enabled, period_days, next_rotation_date)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (region, key_id) DO UPDATE SET enabled = excluded.enabled,
         period_days = excluded.period_days, next_rotation_date = excluded.next_rotation_date`,
    ),
    moveSchedule: db.prepare(
      `UPDATE key_rotation_settings SET next_rotation_date = ?
       WHERE region = ? AND key_id = ? AND enabled = 1 AND next_rotation_date = ?`,
    ),
    insertRotation: db.prepare(
      'INSERT INTO key_rotations (region, key_id, version_id, rotation_date, rotation_type) VALUES (?, ?, ?, ?, ?)',
    ),
    listRotations: db.prepare(
      'SELECT * FROM key_rotations WHERE region = ? AND key_id = ? ORDER BY rotation_date, version_id',
    ),
    countRotations: db.prepare(
      'SELECT count(*) AS n FROM key_rotations WHERE region = ? AND key_id = ? AND rotation_type = ?',
    ),
    due: db.prepare(
      `SELECT s.* FROM key_rotation_settings s
       JOIN keys k ON k.region = s.region AND k.key_id = s.key_id
       WHERE s.enabled = 1 AND s.next_rotation_date <= ? AND k.key_state = 'Enabled'
       ORDER BY s.next_rotation_date LIMIT ?`,
    ),
  };
}

function rowToSettings(r: Row): RotationSettingsRecord {
  const s: RotationSettingsRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    enabled: r.enabled === 1,
    rotationPeriodInDays: Number(r.period_days),
  };
  // Absent, not undefined, so records compare equal after a round trip.
  if (r.next_rotation_date !== null) s.nextRotationDate = new Date(Number(r.next_rotation_date));
  return s;
}
