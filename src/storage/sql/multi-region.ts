/**
 * The multi-Region repository (table mrk_replicas), written once for both adapters: one
 * class over the adapter's executor (sql/executor.ts). A key's member row is removed with
 * the key (SQLite: a trigger; PostgreSQL: deleteKey spells it out).
 */
import { DuplicateKeyError } from '../repository.js';
import type {
  MultiRegionMember,
  MultiRegionRepository,
  MultiRegionRole,
} from '../multi-region-repository.js';
import { all, run, type Row, type Work } from './executor.js';
import { isUniqueViolation } from './errors.js';
import { text } from './values.js';

/** What runs the work: sqliteExecutor (synchronously) or pgExecutor (asynchronously). */
export interface Executor {
  query<T>(work: Work<T>): T | Promise<T>;
  tx<T>(work: Work<T>): T | Promise<T>;
}

export const rowToMember = (r: Row): MultiRegionMember => ({
  accountId: text(r.account_id),
  keyId: text(r.key_id),
  region: text(r.region),
  role: text(r.role) as MultiRegionRole,
});

export function* addMember(m: MultiRegionMember): Work<void> {
  try {
    yield* run('INSERT INTO mrk_replicas (account_id, key_id, region, role) VALUES (?, ?, ?, ?)', [
      m.accountId,
      m.keyId,
      m.region,
      m.role,
    ]);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new DuplicateKeyError(`multi-Region key ${m.keyId} in ${m.region}`);
    throw err;
  }
}

/** Primary first, then replicas by Region. */
export function* listMembers(accountId: string, keyId: string): Work<MultiRegionMember[]> {
  const rows = yield* all(
    `SELECT account_id, key_id, region, role FROM mrk_replicas
     WHERE account_id = ? AND key_id = ?
     ORDER BY CASE role WHEN 'PRIMARY' THEN 0 ELSE 1 END, region`,
    [accountId, keyId],
  );
  return rows.map(rowToMember);
}

const SET_ROLE = `UPDATE mrk_replicas SET role = ?
   WHERE account_id = ? AND key_id = ? AND region = ? AND role = ?`;

/** Run it in a transaction: the throw (no such replica) undoes the demotion. */
export function* swapPrimary(
  accountId: string,
  keyId: string,
  expectedPrimaryRegion: string,
  newPrimaryRegion: string,
): Work<boolean> {
  const demoted = yield* run(SET_ROLE, [
    'REPLICA',
    accountId,
    keyId,
    expectedPrimaryRegion,
    'PRIMARY',
  ]);
  if (demoted !== 1) return false;
  const promoted = yield* run(SET_ROLE, ['PRIMARY', accountId, keyId, newPrimaryRegion, 'REPLICA']);
  if (promoted !== 1) throw new Error(`no replica of ${keyId} in ${newPrimaryRegion}`);
  return true;
}

export class SqlMultiRegionRepository implements MultiRegionRepository {
  constructor(readonly sql: Executor) {}

  async addMember(m: MultiRegionMember): Promise<void> {
    await this.sql.query(addMember(m));
  }

  async listMembers(accountId: string, keyId: string): Promise<MultiRegionMember[]> {
    return this.sql.query(listMembers(accountId, keyId));
  }

  async swapPrimary(
    accountId: string,
    keyId: string,
    expectedPrimaryRegion: string,
    newPrimaryRegion: string,
  ): Promise<boolean> {
    return this.sql.tx(swapPrimary(accountId, keyId, expectedPrimaryRegion, newPrimaryRegion));
  }
}
