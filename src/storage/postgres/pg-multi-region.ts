/** PostgreSQL adapter of the multi-Region repository (table mrk_replicas). */
import { DuplicateKeyError } from '../repository.js';
import type {
  MultiRegionMember,
  MultiRegionRepository,
  MultiRegionRole,
} from '../multi-region-repository.js';
import { changes, isUniqueViolation, type PgDb } from './pg-db.js';
import type { Row } from './pg-rows.js';

export class PgMultiRegionRepository implements MultiRegionRepository {
  constructor(readonly db: PgDb) {}

  async addMember(m: MultiRegionMember): Promise<void> {
    try {
      await this.db.query(
        'INSERT INTO mrk_replicas (account_id, key_id, region, role) VALUES ($1, $2, $3, $4)',
        [m.accountId, m.keyId, m.region, m.role],
      );
    } catch (err) {
      if (isUniqueViolation(err))
        throw new DuplicateKeyError(`multi-Region key ${m.keyId} in ${m.region}`);
      throw err;
    }
  }

  async listMembers(accountId: string, keyId: string): Promise<MultiRegionMember[]> {
    const r = await this.db.query(
      `SELECT account_id, key_id, region, role FROM mrk_replicas
       WHERE account_id = $1 AND key_id = $2
       ORDER BY CASE role WHEN 'PRIMARY' THEN 0 ELSE 1 END, region`,
      [accountId, keyId],
    );
    return r.rows.map((x: Row) => ({
      accountId: String(x.account_id),
      keyId: String(x.key_id),
      region: String(x.region),
      role: String(x.role) as MultiRegionRole,
    }));
  }

  async swapPrimary(
    accountId: string,
    keyId: string,
    expectedPrimaryRegion: string,
    newPrimaryRegion: string,
  ): Promise<boolean> {
    const setRole = `UPDATE mrk_replicas SET role = $1
       WHERE account_id = $2 AND key_id = $3 AND region = $4 AND role = $5`;
    return this.db.tx(async (c) => {
      const demoted = await c.query(setRole, [
        'REPLICA',
        accountId,
        keyId,
        expectedPrimaryRegion,
        'PRIMARY',
      ]);
      if (changes(demoted) !== 1) return false;
      const promoted = await c.query(setRole, [
        'PRIMARY',
        accountId,
        keyId,
        newPrimaryRegion,
        'REPLICA',
      ]);
      if (changes(promoted) !== 1) throw new Error(`no replica of ${keyId} in ${newPrimaryRegion}`);
      return true;
    });
  }
}
