/**
 * The writes that add key material and make it current, shared by the main adapter, import
 * and rotation, so that the key_versions columns and the optimistic revision check on keys
 * live in one place.
 */
import type BetterSqlite3 from 'better-sqlite3';
import {
  ConcurrentUpdateError,
  type KeyRecord,
  type KeyState,
  type KeyVersionRecord,
} from '../repository.js';

const COLUMNS = 'region, key_id, version_id, domain_key_id, ekt, created_at, public_key';

export interface KeyVersionWrites {
  /** Add a version; a version id already present is an error. */
  insert(v: KeyVersionRecord): void;
  /** Add a version or replace its material (re-import of the same material). */
  upsert(v: KeyVersionRecord): void;
  /**
   * Point the key at `versionId` (undefined: no material) and optionally a new state, if
   * its revision is still the one read; throws ConcurrentUpdateError otherwise. Call it
   * inside the caller's transaction.
   */
  setCurrent(key: KeyRecord, versionId: string | undefined, keyState?: KeyState): KeyRecord;
}

/**
 * `changes`: the change log, so that other processes forget the key record they cached
 * when its current version or state moves here.
 */
export function keyVersionWrites(
  db: BetterSqlite3.Database,
  changes?: { record(payload: string): void },
): KeyVersionWrites {
  const insert = db.prepare(`INSERT INTO key_versions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const upsert = db.prepare(
    `INSERT INTO key_versions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (region, key_id, version_id) DO UPDATE SET domain_key_id = excluded.domain_key_id,
       ekt = excluded.ekt, public_key = excluded.public_key`,
  );
  const setCurrent = db.prepare(
    `UPDATE keys SET key_state = ?, current_version_id = ?, revision = ?
     WHERE region = ? AND key_id = ? AND revision = ?`,
  );
  const params = (v: KeyVersionRecord) =>
    [
      v.region,
      v.keyId,
      v.versionId,
      v.domainKeyId,
      v.ekt,
      v.createdAt.getTime(),
      v.publicKey ?? null,
    ] as const;
  return {
    insert: (v) => void insert.run(...params(v)),
    upsert: (v) => void upsert.run(...params(v)),
    setCurrent(key, versionId, keyState = key.keyState) {
      const next: KeyRecord = {
        ...key,
        keyState,
        currentVersionId: versionId,
        revision: key.revision + 1,
      };
      const res = setCurrent.run(
        keyState,
        versionId ?? null,
        next.revision,
        key.region,
        key.keyId,
        key.revision,
      );
      if (res.changes !== 1) throw new ConcurrentUpdateError(key.arn);
      changes?.record(`k:${key.region}/${key.keyId}`);
      return next;
    },
  };
}
