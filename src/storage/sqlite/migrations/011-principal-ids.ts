import type BetterSqlite3 from 'better-sqlite3';
import type { Migration } from './migration.js';
import { bindablePrincipalsOf, encodeBindings, isBindableArn } from '../../principal-bindings.js';

/**
 * Principals bound to IAM unique ids: key policies, role trust policies and grants record
 * the AIDA…/AROA… of each user or role they name. Existing documents are bound to the
 * principals that exist now (the best that can be known about the past).
 */
export const PRINCIPAL_IDS_MIGRATION: Migration = {
  version: 11,
  description: 'principals bound to unique ids (key policies, trust policies, grants)',
  sql: `
    ALTER TABLE keys ADD COLUMN policy_principals TEXT;
    ALTER TABLE iam_principals ADD COLUMN trust_policy_principals TEXT;
    ALTER TABLE grants ADD COLUMN grantee_principal_id TEXT;
    ALTER TABLE grants ADD COLUMN retiring_principal_id TEXT;
  `,
  run: bindExisting,
};

function bindExisting(db: BetterSqlite3.Database): void {
  const idOf = db.prepare('SELECT unique_id FROM iam_principals WHERE arn = ?').pluck();
  const lookup = (arn: string): string | undefined =>
    isBindableArn(arn) ? (idOf.get(arn) as string | undefined) : undefined;
  const bind = (text: string) => {
    const out: Record<string, string> = {};
    for (const arn of bindablePrincipalsOf(text)) {
      const id = lookup(arn);
      if (id !== undefined) out[arn] = id;
    }
    return encodeBindings(out);
  };
  const setKey = db.prepare(
    'UPDATE keys SET policy_principals = ? WHERE region = ? AND key_id = ?',
  );
  for (const k of db.prepare('SELECT region, key_id, policy FROM keys').all() as Row[])
    setKey.run(bind(String(k.policy)), k.region, k.key_id);
  const setRole = db.prepare('UPDATE iam_principals SET trust_policy_principals = ? WHERE arn = ?');
  for (const r of db
    .prepare("SELECT arn, trust_policy FROM iam_principals WHERE kind = 'role'")
    .all() as Row[])
    setRole.run(bind(String(r.trust_policy)), r.arn);
  const setGrant = db.prepare(
    'UPDATE grants SET grantee_principal_id = ?, retiring_principal_id = ? WHERE region = ? AND key_id = ? AND grant_id = ?',
  );
  for (const g of db
    .prepare('SELECT region, key_id, grant_id, grantee_principal, retiring_principal FROM grants')
    .all() as Row[]) {
    const retiring = g.retiring_principal === null ? undefined : String(g.retiring_principal);
    setGrant.run(
      lookup(String(g.grantee_principal)) ?? null,
      retiring === undefined ? null : (lookup(retiring) ?? null),
      g.region,
      g.key_id,
      g.grant_id,
    );
  }
}

type Row = Record<string, unknown>;
