/**
 * PostgreSQL adapter of the grant repository. CreateGrant's Name idempotency is the
 * partial unique index on (region, key_id, fingerprint): the insert and the token go in
 * one transaction, so two nodes racing on the same named grant store one grant.
 */
import type {
  GranteeLookup,
  CreateGrantResult,
  GrantConstraintsRecord,
  GrantFilters,
  GrantRecord,
  GrantRepository,
} from '../grant-repository.js';
import type { PageRequest } from '../repository.js';
import { changes, type PgDb } from './pg-db.js';
import { ms, notify, type Row } from './pg-rows.js';

export class PgGrantRepository implements GrantRepository {
  readonly kind = 'grants';

  constructor(readonly db: PgDb) {}

  async createGrant(grant: GrantRecord, tokenHash: Buffer): Promise<CreateGrantResult> {
    return this.db.tx(async (c) => {
      const res = await c.query(
        `INSERT INTO grants (region, key_id, grant_id, account_id, issuing_principal, name,
           grantee_principal, retiring_principal, operations, constraints, creation_date, fingerprint,
           grantee_principal_id, retiring_principal_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (region, key_id, fingerprint) WHERE name IS NOT NULL DO NOTHING`,
        grantParams(grant),
      );
      let stored = grant;
      let created = true;
      if (changes(res) !== 1) {
        // Only the partial unique index on named grants can make the insert a no-op; the
        // conflicting row is committed (ON CONFLICT waited for it), so this read sees it.
        const r = await c.query(
          'SELECT * FROM grants WHERE region = $1 AND key_id = $2 AND fingerprint = $3 AND name IS NOT NULL',
          [grant.region, grant.keyId, grant.fingerprint],
        );
        const row = r.rows[0];
        if (row === undefined) throw new Error('grant insert ignored without a conflicting row');
        stored = rowToGrant(row);
        created = false;
      }
      await c.query(
        'INSERT INTO grant_tokens (token_hash, region, key_id, grant_id) VALUES ($1, $2, $3, $4)',
        [tokenHash, stored.region, stored.keyId, stored.grantId],
      );
      return { grant: stored, created };
    });
  }

  async getGrant(region: string, keyId: string, grantId: string): Promise<GrantRecord | undefined> {
    const r = await this.db.query(
      'SELECT * FROM grants WHERE region = $1 AND key_id = $2 AND grant_id = $3',
      [region, keyId, grantId],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : rowToGrant(row);
  }

  async getGrantByTokenHash(tokenHash: Buffer): Promise<GrantRecord | undefined> {
    const r = await this.db.query(
      `SELECT g.* FROM grant_tokens t JOIN grants g
         ON g.region = t.region AND g.key_id = t.key_id AND g.grant_id = t.grant_id
       WHERE t.token_hash = $1`,
      [tokenHash],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : rowToGrant(row);
  }

  async listGrantsForKey(region: string, keyId: string): Promise<GrantRecord[]> {
    const r = await this.db.query('SELECT * FROM grants WHERE region = $1 AND key_id = $2', [
      region,
      keyId,
    ]);
    return r.rows.map(rowToGrant);
  }

  async listGrantsForGrantee(
    region: string,
    keyId: string,
    grantee: GranteeLookup,
  ): Promise<GrantRecord[]> {
    // A bitmap OR of grants_by_grantee and grants_by_grantee_id (migration 6).
    const r = await this.db.query(
      `SELECT * FROM grants WHERE region = $1 AND key_id = $2
         AND (grantee_principal = ANY($3::text[]) OR grantee_principal_id = $4)`,
      [region, keyId, [...grantee.arns], grantee.principalId ?? null],
    );
    return r.rows.map(rowToGrant);
  }

  async listGrants(
    region: string,
    keyId: string,
    page: PageRequest,
    filters: GrantFilters = {},
  ): Promise<GrantRecord[]> {
    const r = await this.db.query(
      `SELECT * FROM grants WHERE region = $1 AND key_id = $2 AND grant_id > $3
         AND ($4::text IS NULL OR grant_id = $4)
         AND ($5::text IS NULL OR grantee_principal = $5)
       ORDER BY grant_id LIMIT $6`,
      [
        region,
        keyId,
        page.after ?? '',
        filters.grantId ?? null,
        filters.granteePrincipal ?? null,
        page.limit,
      ],
    );
    return r.rows.map(rowToGrant);
  }

  async listRetirableGrants(
    region: string,
    retiringPrincipal: string,
    page: PageRequest,
  ): Promise<GrantRecord[]> {
    const r = await this.db.query(
      `SELECT * FROM grants WHERE region = $1 AND retiring_principal = $2 AND grant_id > $3
       ORDER BY grant_id LIMIT $4`,
      [region, retiringPrincipal, page.after ?? '', page.limit],
    );
    return r.rows.map(rowToGrant);
  }

  async deleteGrant(region: string, keyId: string, grantId: string): Promise<boolean> {
    return this.db.tx(async (c) => {
      await c.query(
        'DELETE FROM grant_tokens WHERE region = $1 AND key_id = $2 AND grant_id = $3',
        [region, keyId, grantId],
      );
      const r = await c.query(
        'DELETE FROM grants WHERE region = $1 AND key_id = $2 AND grant_id = $3',
        [region, keyId, grantId],
      );
      if (changes(r) === 1) await notify(c, `g:${region}/${keyId}`);
      return changes(r) === 1;
    });
  }

  async countGrantsForKey(region: string, keyId: string): Promise<number> {
    const r = await this.db.query(
      'SELECT count(*) AS n FROM grants WHERE region = $1 AND key_id = $2',
      [region, keyId],
    );
    return Number(r.rows[0]?.n ?? 0);
  }
}

function grantParams(g: GrantRecord): unknown[] {
  return [
    g.region,
    g.keyId,
    g.grantId,
    g.accountId,
    g.issuingPrincipal,
    g.name ?? null,
    g.granteePrincipal,
    g.retiringPrincipal ?? null,
    JSON.stringify(g.operations),
    g.constraints === undefined ? null : JSON.stringify(g.constraints),
    g.creationDate.getTime(),
    g.fingerprint,
    g.granteePrincipalId ?? null,
    g.retiringPrincipalId ?? null,
  ];
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
    creationDate: ms(r.creation_date),
    fingerprint: String(r.fingerprint),
  };
  if (r.name !== null) g.name = String(r.name);
  if (r.retiring_principal !== null) g.retiringPrincipal = String(r.retiring_principal);
  if (r.grantee_principal_id != null) g.granteePrincipalId = String(r.grantee_principal_id);
  if (r.retiring_principal_id != null) g.retiringPrincipalId = String(r.retiring_principal_id);
  if (r.constraints !== null)
    g.constraints = JSON.parse(String(r.constraints)) as GrantConstraintsRecord;
  return g;
}
