/**
 * PostgreSQL adapter of the import repository: an import (token consumed + version + key
 * state + import state) is one transaction; the token is consumed by a DELETE, so it is
 * single-use across nodes.
 */
import type {
  CompleteImportInput,
  CompleteImportResult,
  ExpirationModel,
  ImportRepository,
  ImportStateRecord,
  ImportTokenRecord,
} from '../import-repository.js';
import type { KeyRecord, KeyState } from '../repository.js';
import { changes, type PgDb } from './pg-db.js';
import { ms, setCurrentVersion, upsertVersion, type Row } from './pg-rows.js';

export class PgImportRepository implements ImportRepository {
  readonly kind = 'import';

  constructor(readonly db: PgDb) {}

  async putImportToken(t: ImportTokenRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO import_tokens (token_id, region, key_id, wrapping_algorithm, wrapping_key_spec,
         sealed_private_key, valid_to) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        t.tokenId,
        t.region,
        t.keyId,
        t.wrappingAlgorithm,
        t.wrappingKeySpec,
        t.sealedPrivateKey,
        t.validTo.getTime(),
      ],
    );
  }

  async getImportToken(tokenId: string): Promise<ImportTokenRecord | undefined> {
    const r = await this.db.query('SELECT * FROM import_tokens WHERE token_id = $1', [tokenId]);
    const x = r.rows[0];
    if (x === undefined) return undefined;
    return {
      tokenId: String(x.token_id),
      region: String(x.region),
      keyId: String(x.key_id),
      wrappingAlgorithm: String(x.wrapping_algorithm),
      wrappingKeySpec: String(x.wrapping_key_spec),
      sealedPrivateKey: x.sealed_private_key as Buffer,
      validTo: ms(x.valid_to),
    };
  }

  async deleteExpiredImportTokens(before: Date): Promise<number> {
    return changes(
      await this.db.query('DELETE FROM import_tokens WHERE valid_to <= $1', [before.getTime()]),
    );
  }

  async getImportState(region: string, keyId: string): Promise<ImportStateRecord | undefined> {
    const r = await this.db.query('SELECT * FROM key_imports WHERE region = $1 AND key_id = $2', [
      region,
      keyId,
    ]);
    const row = r.rows[0];
    return row === undefined ? undefined : rowToState(row);
  }

  async completeImport(input: CompleteImportInput): Promise<CompleteImportResult> {
    const { key, version } = input;
    return this.db.tx(async (c): Promise<CompleteImportResult> => {
      const consumed = await c.query(
        'DELETE FROM import_tokens WHERE token_id = $1 AND region = $2 AND key_id = $3',
        [input.tokenId, key.region, key.keyId],
      );
      if (changes(consumed) !== 1) return { kind: 'token-used' };
      // A concurrent change throws, which rolls back the token consumption above.
      const next = await setCurrentVersion(c, key, version.versionId, input.keyState);
      await upsertVersion(c, version);
      await c.query(
        `INSERT INTO key_imports (region, key_id, material_id, imported, expiration_model, valid_to)
         VALUES ($1, $2, $3, true, $4, $5)
         ON CONFLICT (region, key_id) DO UPDATE SET material_id = excluded.material_id,
           imported = true, expiration_model = excluded.expiration_model, valid_to = excluded.valid_to`,
        [
          key.region,
          key.keyId,
          version.versionId,
          input.expirationModel,
          input.validTo?.getTime() ?? null,
        ],
      );
      return { kind: 'imported', key: next };
    });
  }

  async deleteImportedMaterial(key: KeyRecord, keyState: KeyState): Promise<KeyRecord> {
    return this.db.tx(async (c) => {
      const next = await setCurrentVersion(c, key, undefined, keyState);
      await c.query('DELETE FROM key_versions WHERE region = $1 AND key_id = $2', [
        key.region,
        key.keyId,
      ]);
      await c.query(
        `UPDATE key_imports SET imported = false, expiration_model = NULL, valid_to = NULL
         WHERE region = $1 AND key_id = $2`,
        [key.region, key.keyId],
      );
      return next;
    });
  }

  async listExpiredImports(before: Date, limit: number): Promise<ImportStateRecord[]> {
    const r = await this.db.query(
      `SELECT * FROM key_imports WHERE imported AND valid_to IS NOT NULL AND valid_to <= $1
       ORDER BY valid_to LIMIT $2`,
      [before.getTime(), limit],
    );
    return r.rows.map(rowToState);
  }
}

function rowToState(r: Row): ImportStateRecord {
  const s: ImportStateRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    materialId: String(r.material_id),
    imported: r.imported === true,
  };
  if (r.expiration_model !== null)
    s.expirationModel = String(r.expiration_model) as ExpirationModel;
  if (r.valid_to !== null) s.validTo = ms(r.valid_to);
  return s;
}
