/**
 * SQLite adapter of the multi-Region repository (table mrk_replicas, migration 6). It shares
 * the database with SqliteStorage.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { DuplicateKeyError } from '../repository.js';
import type {
  MultiRegionMember,
  MultiRegionRepository,
  MultiRegionRole,
} from '../multi-region-repository.js';

type Row = Record<string, unknown>;

export class SqliteMultiRegionRepository implements MultiRegionRepository {
  readonly #s: ReturnType<typeof prepare>;

  constructor(readonly db: BetterSqlite3.Database) {
    this.#s = prepare(db);
  }

  async addMember(m: MultiRegionMember): Promise<void> {
    try {
      this.#s.insert.run(m.accountId, m.keyId, m.region, m.role);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new DuplicateKeyError(`multi-Region key ${m.keyId} in ${m.region}`);
      }
      throw err;
    }
  }

  async listMembers(accountId: string, keyId: string): Promise<MultiRegionMember[]> {
    return (this.#s.list.all(accountId, keyId) as Row[]).map((r) => ({
      accountId: String(r.account_id),
      keyId: String(r.key_id),
      region: String(r.region),
      role: String(r.role) as MultiRegionRole,
    }));
  }

  async swapPrimary(
    accountId: string,
    keyId: string,
    expectedPrimaryRegion: string,
    newPrimaryRegion: string,
  ): Promise<boolean> {
    return this.db.transaction((): boolean => {
      const demoted = this.#s.setRole.run(
        'REPLICA',
        accountId,
        keyId,
        expectedPrimaryRegion,
        'PRIMARY',
      );
      if (demoted.changes !== 1) return false;
      const promoted = this.#s.setRole.run(
        'PRIMARY',
        accountId,
        keyId,
        newPrimaryRegion,
        'REPLICA',
      );
      if (promoted.changes !== 1) throw new Error(`no replica of ${keyId} in ${newPrimaryRegion}`);
      return true;
    })();
  }
}

function prepare(db: BetterSqlite3.Database) {
  return {
    insert: db.prepare(
      'INSERT INTO mrk_replicas (account_id, key_id, region, role) VALUES (?, ?, ?, ?)',
    ),
    list: db.prepare(
      `SELECT account_id, key_id, region, role FROM mrk_replicas
       WHERE account_id = ? AND key_id = ?
       ORDER BY CASE role WHEN 'PRIMARY' THEN 0 ELSE 1 END, region`,
    ),
    setRole: db.prepare(
      `UPDATE mrk_replicas SET role = ?
       WHERE account_id = ? AND key_id = ? AND region = ? AND role = ?`,
    ),
  };
}
