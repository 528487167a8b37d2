import type BetterSqlite3 from 'better-sqlite3';
import type {
  CreateGrantResult,
  GrantConstraintsRecord,
  GrantFilters,
  GranteeLookup,
  GrantRecord,
  GrantRepository,
} from '../grant-repository.js';
import type { PageRequest } from '../repository.js';

type Row = Record<string, unknown>;

export class SqliteGrantRepository implements GrantRepository {
  readonly kind = 'grants';
  readonly #s: ReturnType<typeof prepare>;

  constructor(readonly db: BetterSqlite3.Database) {
    this.#s = prepare(db);
  }

  async createGrant(grant: GrantRecord, tokenHash: Buffer): Promise<CreateGrantResult> {
    return this.db.transaction((): CreateGrantResult => {
      const res = this.#s.insertGrant.run(grantToRow(grant));
      let stored = grant;
      let created = true;
      if (res.changes !== 1) {
        // Only the partial unique index on named grants can make the insert a no-op.
        const row = this.#s.getByFingerprint.get(grant.region, grant.keyId, grant.fingerprint) as
          Row | undefined;
        if (row === undefined) throw new Error('grant insert ignored without a conflicting row');
        stored = rowToGrant(row);
        created = false;
      }
      this.#s.insertToken.run(tokenHash, stored.region, stored.keyId, stored.grantId);
      return { grant: stored, created };
    })();
  }

  async getGrant(region: string, keyId: string, grantId: string): Promise<GrantRecord | undefined> {
    const row = this.#s.getGrant.get(region, keyId, grantId) as Row | undefined;
    return row === undefined ? undefined : rowToGrant(row);
  }

  async getGrantByTokenHash(tokenHash: Buffer): Promise<GrantRecord | undefined> {
    const row = this.#s.getByToken.get(tokenHash) as Row | undefined;
    return row === undefined ? undefined : rowToGrant(row);
  }

  async listGrantsForKey(region: string, keyId: string): Promise<GrantRecord[]> {
    return (this.#s.listForKey.all(region, keyId) as Row[]).map(rowToGrant);
  }

  async listGrantsForGrantee(
    region: string,
    keyId: string,
    grantee: GranteeLookup,
  ): Promise<GrantRecord[]> {
    // One index probe per ARN (grants_by_grantee) and one for the unique id
    // (grants_by_grantee_id); a grant found twice is returned once.
    const rows = new Map<string, Row>();
    for (const arn of new Set(grantee.arns))
      for (const r of this.#s.listForGrantee.all(region, keyId, arn) as Row[])
        rows.set(String(r.grant_id), r);
    if (grantee.principalId !== undefined)
      for (const r of this.#s.listForGranteeId.all(region, keyId, grantee.principalId) as Row[])
        rows.set(String(r.grant_id), r);
    return [...rows.values()].map(rowToGrant);
  }

  async listGrants(
    region: string,
    keyId: string,
    page: PageRequest,
    filters: GrantFilters = {},
  ): Promise<GrantRecord[]> {
    const rows = this.#s.listGrants.all({
      region,
      key_id: keyId,
      after: page.after ?? '',
      limit: page.limit,
      grant_id: filters.grantId ?? null,
      grantee: filters.granteePrincipal ?? null,
    }) as Row[];
    return rows.map(rowToGrant);
  }

  async listRetirableGrants(
    region: string,
    retiringPrincipal: string,
    page: PageRequest,
  ): Promise<GrantRecord[]> {
    const rows = this.#s.listRetirable.all(
      region,
      retiringPrincipal,
      page.after ?? '',
      page.limit,
    ) as Row[];
    return rows.map(rowToGrant);
  }

  async deleteGrant(region: string, keyId: string, grantId: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.#s.deleteTokens.run(region, keyId, grantId);
      return this.#s.deleteGrant.run(region, keyId, grantId).changes === 1;
    })();
  }

  async countGrantsForKey(region: string, keyId: string): Promise<number> {
    return (this.#s.countForKey.get(region, keyId) as { n: number }).n;
  }
}

function prepare(db: BetterSqlite3.Database) {
  return {
    insertGrant: db.prepare(
      `INSERT INTO grants (region, key_id, grant_id, account_id, issuing_principal, name,
         grantee_principal, retiring_principal, operations, constraints, creation_date, fingerprint,
         grantee_principal_id, retiring_principal_id)
       VALUES (@region, @key_id, @grant_id, @account_id, @issuing_principal, @name,
         @grantee_principal, @retiring_principal, @operations, @constraints, @creation_date, @fingerprint,
         @grantee_principal_id, @retiring_principal_id)
       ON CONFLICT (region, key_id, fingerprint) WHERE name IS NOT NULL DO NOTHING`,
    ),
    getByFingerprint: db.prepare(
      'SELECT * FROM grants WHERE region = ? AND key_id = ? AND fingerprint = ? AND name IS NOT NULL',
    ),
    insertToken: db.prepare(
      'INSERT INTO grant_tokens (token_hash, region, key_id, grant_id) VALUES (?, ?, ?, ?)',
    ),
    getGrant: db.prepare('SELECT * FROM grants WHERE region = ? AND key_id = ? AND grant_id = ?'),
    getByToken: db.prepare(
      `SELECT g.* FROM grant_tokens t JOIN grants g
         ON g.region = t.region AND g.key_id = t.key_id AND g.grant_id = t.grant_id
       WHERE t.token_hash = ?`,
    ),
    listForKey: db.prepare('SELECT * FROM grants WHERE region = ? AND key_id = ?'),
    listForGrantee: db.prepare(
      'SELECT * FROM grants INDEXED BY grants_by_grantee WHERE region = ? AND key_id = ? AND grantee_principal = ?',
    ),
    listForGranteeId: db.prepare(
      `SELECT * FROM grants INDEXED BY grants_by_grantee_id
       WHERE region = ? AND key_id = ? AND grantee_principal_id = ? AND grantee_principal_id IS NOT NULL`,
    ),
    listGrants: db.prepare(
      `SELECT * FROM grants WHERE region = @region AND key_id = @key_id AND grant_id > @after
         AND (@grant_id IS NULL OR grant_id = @grant_id)
         AND (@grantee IS NULL OR grantee_principal = @grantee)
       ORDER BY grant_id LIMIT @limit`,
    ),
    listRetirable: db.prepare(
      `SELECT * FROM grants WHERE region = ? AND retiring_principal = ? AND grant_id > ?
       ORDER BY grant_id LIMIT ?`,
    ),
    deleteTokens: db.prepare(
      'DELETE FROM grant_tokens WHERE region = ? AND key_id = ? AND grant_id = ?',
    ),
    deleteGrant: db.prepare('DELETE FROM grants WHERE region = ? AND key_id = ? AND grant_id = ?'),
    countForKey: db.prepare('SELECT count(*) AS n FROM grants WHERE region = ? AND key_id = ?'),
  };
}

function grantToRow(g: GrantRecord): Row {
  return {
    region: g.region,
    key_id: g.keyId,
    grant_id: g.grantId,
    account_id: g.accountId,
    issuing_principal: g.issuingPrincipal,
    name: g.name ?? null,
    grantee_principal: g.granteePrincipal,
    retiring_principal: g.retiringPrincipal ?? null,
    operations: JSON.stringify(g.operations),
    constraints: g.constraints === undefined ? null : JSON.stringify(g.constraints),
    creation_date: g.creationDate.getTime(),
    fingerprint: g.fingerprint,
    grantee_principal_id: g.granteePrincipalId ?? null,
    retiring_principal_id: g.retiringPrincipalId ?? null,
  };
}

function rowToGrant(r: Row): GrantRecord {
  const g: GrantRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    grantId: String(r.grant_id),
    accountId: String(r.account_id),
    issuingPrincipal: String(r.issuing_principal),
    granteePrincipal: String(r.grantee_principal),
    operations: JSON.parse(String(r.operations)) as string[],
    creationDate: new Date(Number(r.creation_date)),
    fingerprint: String(r.fingerprint),
  };
  // Optional fields are absent, not undefined, so records compare equal after a round trip.
  if (r.name !== null) g.name = String(r.name);
  if (r.retiring_principal !== null) g.retiringPrincipal = String(r.retiring_principal);
  if (r.grantee_principal_id != null) g.granteePrincipalId = String(r.grantee_principal_id);
  if (r.retiring_principal_id != null) g.retiringPrincipalId = String(r.retiring_principal_id);
  if (r.constraints !== null)
    g.constraints = JSON.parse(String(r.constraints)) as GrantConstraintsRecord;
  return g;
}
