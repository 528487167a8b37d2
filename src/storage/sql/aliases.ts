/**
 * Aliases, written once for both adapters (run by sql/executor.ts). The alias name is
 * the primary key with region and account, so two racing CreateAlias calls give one
 * success and one DuplicateKeyError on either database. A key's aliases are also removed
 * by deleteKey, inside that transaction (deleteAliasesOfKey).
 */
import { DuplicateKeyError, type AliasRecord, type PageRequest } from '../repository.js';
import { all, one, run, type Row, type Work } from './executor.js';
import { isUniqueViolation } from './errors.js';
import { date, int, text } from './values.js';

const COLUMNS = 'region, account_id, alias_name, target_key_id, creation_date, last_updated_date';

export const rowToAlias = (r: Row): AliasRecord => ({
  region: text(r.region),
  accountId: text(r.account_id),
  aliasName: text(r.alias_name),
  targetKeyId: text(r.target_key_id),
  creationDate: date(r.creation_date),
  lastUpdatedDate: date(r.last_updated_date),
});

/** Throws DuplicateKeyError when the name is taken (on PostgreSQL, run it outside a transaction or let it abort). */
export function* createAlias(a: AliasRecord): Work<void> {
  try {
    yield* run(`INSERT INTO aliases (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [
      a.region,
      a.accountId,
      a.aliasName,
      a.targetKeyId,
      a.creationDate,
      a.lastUpdatedDate,
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new DuplicateKeyError(`alias ${a.aliasName}`);
    throw err;
  }
}

export function* getAlias(
  region: string,
  accountId: string,
  aliasName: string,
): Work<AliasRecord | undefined> {
  const row = yield* one(
    `SELECT ${COLUMNS} FROM aliases WHERE region = ? AND account_id = ? AND alias_name = ?`,
    [region, accountId, aliasName],
  );
  return row === undefined ? undefined : rowToAlias(row);
}

/** Point an existing alias at another key; false when there is no such alias. */
export function* updateAlias(a: AliasRecord): Work<boolean> {
  const n = yield* run(
    `UPDATE aliases SET target_key_id = ?, last_updated_date = ?
     WHERE region = ? AND account_id = ? AND alias_name = ?`,
    [a.targetKeyId, a.lastUpdatedDate, a.region, a.accountId, a.aliasName],
  );
  return n === 1;
}

/** False when there is no such alias. */
export function* deleteAlias(region: string, accountId: string, aliasName: string): Work<boolean> {
  const n = yield* run(
    'DELETE FROM aliases WHERE region = ? AND account_id = ? AND alias_name = ?',
    [region, accountId, aliasName],
  );
  return n === 1;
}

/** One page by alias name (keyset: names after `page.after`), optionally of one key only. */
export function* listAliases(
  region: string,
  accountId: string,
  page: PageRequest,
  targetKeyId?: string,
): Work<AliasRecord[]> {
  const rows =
    targetKeyId === undefined
      ? yield* all(
          `SELECT ${COLUMNS} FROM aliases WHERE region = ? AND account_id = ? AND alias_name > ?
           ORDER BY alias_name LIMIT ?`,
          [region, accountId, page.after ?? '', page.limit],
        )
      : yield* all(
          `SELECT ${COLUMNS} FROM aliases WHERE region = ? AND account_id = ? AND target_key_id = ?
             AND alias_name > ? ORDER BY alias_name LIMIT ?`,
          [region, accountId, targetKeyId, page.after ?? '', page.limit],
        );
  return rows.map(rowToAlias);
}

export function* countAliasesForKey(
  region: string,
  accountId: string,
  targetKeyId: string,
): Work<number> {
  const row = yield* one(
    'SELECT count(*) AS n FROM aliases WHERE region = ? AND account_id = ? AND target_key_id = ?',
    [region, accountId, targetKeyId],
  );
  return int(row?.n ?? 0);
}

/** Every alias of a deleted key (run inside deleteKey's transaction). */
export function* deleteAliasesOfKey(region: string, keyId: string): Work<void> {
  yield* run('DELETE FROM aliases WHERE region = ? AND target_key_id = ?', [region, keyId]);
}
