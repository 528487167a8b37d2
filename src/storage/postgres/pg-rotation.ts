/**
 * PostgreSQL adapter of the rotation repository: a rotation (new version + current
 * version + history + schedule) is one transaction; the schedule move is a compare-and-set
 * on next_rotation_date, so a due rotation happens once even when nodes race.
 */
import type {
  RotateKeyInput,
  RotateKeyResult,
  RotationRecord,
  RotationRepository,
  RotationSettingsRecord,
  RotationType,
} from '../rotation-repository.js';
import { changes, type PgDb, type Q } from './pg-db.js';
import { insertVersion, ms, setCurrentVersion, type Row } from './pg-rows.js';

export class PgRotationRepository implements RotationRepository {
  readonly kind = 'rotation';

  constructor(readonly db: PgDb) {}

  async getRotationSettings(
    region: string,
    keyId: string,
  ): Promise<RotationSettingsRecord | undefined> {
    const r = await this.db.query(
      'SELECT * FROM key_rotation_settings WHERE region = $1 AND key_id = $2',
      [region, keyId],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : rowToSettings(row);
  }

  async putRotationSettings(s: RotationSettingsRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO key_rotation_settings (region, key_id, enabled, period_days, next_rotation_date)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (region, key_id) DO UPDATE SET enabled = excluded.enabled,
         period_days = excluded.period_days, next_rotation_date = excluded.next_rotation_date`,
      [s.region, s.keyId, s.enabled, s.rotationPeriodInDays, s.nextRotationDate?.getTime() ?? null],
    );
  }

  async rotateKey(input: RotateKeyInput): Promise<RotateKeyResult> {
    const { key, version, rotation, schedule, maxOnDemand } = input;
    return this.db.tx(async (c): Promise<RotateKeyResult> => {
      if (schedule !== undefined) {
        const moved = await c.query(
          `UPDATE key_rotation_settings SET next_rotation_date = $1
           WHERE region = $2 AND key_id = $3 AND enabled AND next_rotation_date = $4`,
          [schedule.next.getTime(), key.region, key.keyId, schedule.expected.getTime()],
        );
        if (changes(moved) !== 1) return { kind: 'schedule-changed' };
      }
      if (maxOnDemand !== undefined) {
        // Lock the key row first so that two on-demand rotations count one after the other.
        await c.query('SELECT 1 FROM keys WHERE region = $1 AND key_id = $2 FOR UPDATE', [
          key.region,
          key.keyId,
        ]);
        if ((await countRotations(c, key.region, key.keyId, 'ON_DEMAND')) >= maxOnDemand)
          return { kind: 'limit-exceeded' };
      }
      // A concurrent change throws, which rolls back the schedule move above.
      const next = await setCurrentVersion(c, key, version.versionId);
      await insertVersion(c, version);
      await c.query(
        'INSERT INTO key_rotations (region, key_id, version_id, rotation_date, rotation_type) VALUES ($1, $2, $3, $4, $5)',
        [
          rotation.region,
          rotation.keyId,
          rotation.versionId,
          rotation.rotationDate.getTime(),
          rotation.rotationType,
        ],
      );
      return { kind: 'rotated', key: next };
    });
  }

  async listRotations(region: string, keyId: string): Promise<RotationRecord[]> {
    const r = await this.db.query(
      'SELECT * FROM key_rotations WHERE region = $1 AND key_id = $2 ORDER BY rotation_date, version_id',
      [region, keyId],
    );
    return r.rows.map((x: Row) => ({
      region: String(x.region),
      keyId: String(x.key_id),
      versionId: String(x.version_id),
      rotationDate: ms(x.rotation_date),
      rotationType: String(x.rotation_type) as RotationType,
    }));
  }

  countRotations(region: string, keyId: string, type: RotationType): Promise<number> {
    return countRotations(this.db, region, keyId, type);
  }

  async listDueRotations(before: Date, limit: number): Promise<RotationSettingsRecord[]> {
    const r = await this.db.query(
      `SELECT s.* FROM key_rotation_settings s
       JOIN keys k ON k.region = s.region AND k.key_id = s.key_id
       WHERE s.enabled AND s.next_rotation_date <= $1 AND k.key_state = 'Enabled'
       ORDER BY s.next_rotation_date LIMIT $2`,
      [before.getTime(), limit],
    );
    return r.rows.map(rowToSettings);
  }
}

async function countRotations(
  q: Q,
  region: string,
  keyId: string,
  type: RotationType,
): Promise<number> {
  const r = await q.query(
    'SELECT count(*) AS n FROM key_rotations WHERE region = $1 AND key_id = $2 AND rotation_type = $3',
    [region, keyId, type],
  );
  return Number((r.rows[0] as Row | undefined)?.n ?? 0);
}

function rowToSettings(r: Row): RotationSettingsRecord {
  const s: RotationSettingsRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    enabled: r.enabled === true,
    rotationPeriodInDays: Number(r.period_days),
  };
  if (r.next_rotation_date !== null) s.nextRotationDate = ms(r.next_rotation_date);
  return s;
}
