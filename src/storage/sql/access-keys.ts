/**
 * Long-term access keys (table access_keys), written once for both adapters (run by
 * sql/executor.ts). Every write is followed, in the same transaction, by the adapter's
 * `ak:<id>` invalidation (SQLite: the change log; PostgreSQL: NOTIFY), which stays in the
 * adapters; so does deleting a user's keys with the user (pg-iam.ts, sqlite-iam.ts).
 */
import type { AccessKeyRecord } from '../repository.js';
import { all, one, run, type Row, type Work } from './executor.js';
import { date, text } from './values.js';

const COLUMNS = 'access_key_id, account_id, principal_arn, sealed_secret, created_at';

export const rowToAccessKey = (r: Row): AccessKeyRecord => ({
  accessKeyId: text(r.access_key_id),
  accountId: text(r.account_id),
  principalArn: text(r.principal_arn),
  sealedSecret: r.sealed_secret as Buffer,
  createdAt: date(r.created_at),
});

/** Insert, or replace an existing key's account, principal and secret (not its creation time). */
export function* putAccessKey(k: AccessKeyRecord): Work<void> {
  yield* run(
    `INSERT INTO access_keys (${COLUMNS}) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (access_key_id) DO UPDATE SET account_id = excluded.account_id,
       principal_arn = excluded.principal_arn, sealed_secret = excluded.sealed_secret`,
    [k.accessKeyId, k.accountId, k.principalArn, k.sealedSecret, k.createdAt],
  );
}

export function* getAccessKey(accessKeyId: string): Work<AccessKeyRecord | undefined> {
  const row = yield* one(`SELECT ${COLUMNS} FROM access_keys WHERE access_key_id = ?`, [
    accessKeyId,
  ]);
  return row === undefined ? undefined : rowToAccessKey(row);
}

export function* listAccessKeys(accountId: string): Work<AccessKeyRecord[]> {
  const rows = yield* all(
    `SELECT ${COLUMNS} FROM access_keys WHERE account_id = ? ORDER BY access_key_id`,
    [accountId],
  );
  return rows.map(rowToAccessKey);
}

export function* listAccessKeysForPrincipal(principalArn: string): Work<AccessKeyRecord[]> {
  const rows = yield* all(
    `SELECT ${COLUMNS} FROM access_keys WHERE principal_arn = ? ORDER BY access_key_id`,
    [principalArn],
  );
  return rows.map(rowToAccessKey);
}

/** True when the key existed. */
export function* deleteAccessKey(accessKeyId: string): Work<boolean> {
  return (yield* run('DELETE FROM access_keys WHERE access_key_id = ?', [accessKeyId])) > 0;
}
