/**
 * PostgreSQL adapter of the import repository: an import (token consumed + version + key
 * state + import state) is one transaction; the token is consumed by a DELETE, so it is
 * single-use across nodes.
 */
import type {
  CompleteImportInput,
  CompleteImportResult,
  DeleteMaterialInput,
  ExpirationModel,
  ImportedMaterialRecord,
  ImportRepository,
  ImportTokenRecord,
  RotateToMaterialInput,
} from '../import-repository.js';
import type { KeyRecord } from '../repository.js';
import type { RotateKeyResult } from '../rotation-repository.js';
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

  async listImportedMaterials(region: string, keyId: string): Promise<ImportedMaterialRecord[]> {
    const r = await this.db.query(
      `SELECT * FROM key_import_materials WHERE region = $1 AND key_id = $2
       ORDER BY associated_at, material_id`,
      [region, keyId],
    );
    return r.rows.map(rowToMaterial);
  }

  async completeImport(input: CompleteImportInput): Promise<CompleteImportResult> {
    const { key, version, material: m } = input;
    return this.db.tx(async (c): Promise<CompleteImportResult> => {
      const consumed = await c.query(
        'DELETE FROM import_tokens WHERE token_id = $1 AND region = $2 AND key_id = $3',
        [input.tokenId, key.region, key.keyId],
      );
      if (changes(consumed) !== 1) return { kind: 'token-used' };
      // A concurrent change throws, which rolls back the token consumption above.
      const next = await setCurrentVersion(c, key, input.currentVersionId, input.keyState);
      await upsertVersion(c, version);
      await c.query(
        `INSERT INTO key_import_materials (region, key_id, material_id, pending_rotation, imported,
           expiration_model, valid_to, description, associated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (region, key_id, material_id) DO UPDATE SET
           pending_rotation = excluded.pending_rotation, imported = excluded.imported,
           expiration_model = excluded.expiration_model, valid_to = excluded.valid_to,
           description = excluded.description, associated_at = excluded.associated_at`,
        [
          m.region,
          m.keyId,
          m.materialId,
          m.pendingRotation,
          m.imported,
          m.expirationModel ?? null,
          m.validTo?.getTime() ?? null,
          m.description ?? null,
          m.associatedAt.getTime(),
        ],
      );
      return { kind: 'imported', key: next };
    });
  }

  async deleteImportedMaterial(input: DeleteMaterialInput): Promise<KeyRecord> {
    const { key, materialId } = input;
    return this.db.tx(async (c) => {
      const next = await setCurrentVersion(c, key, key.currentVersionId, input.keyState);
      const ids = [key.region, key.keyId, materialId];
      await c.query(
        'DELETE FROM key_versions WHERE region = $1 AND key_id = $2 AND version_id = $3',
        ids,
      );
      await c.query(
        input.forget
          ? 'DELETE FROM key_import_materials WHERE region = $1 AND key_id = $2 AND material_id = $3'
          : `UPDATE key_import_materials SET imported = false, expiration_model = NULL, valid_to = NULL
             WHERE region = $1 AND key_id = $2 AND material_id = $3`,
        ids,
      );
      return next;
    });
  }

  async rotateToImportedMaterial(input: RotateToMaterialInput): Promise<RotateKeyResult> {
    const { key, materialId, rotation: r } = input;
    return this.db.tx(async (c): Promise<RotateKeyResult> => {
      const count = await c.query(
        `SELECT count(*) AS n FROM key_rotations
         WHERE region = $1 AND key_id = $2 AND rotation_type = 'ON_DEMAND'`,
        [key.region, key.keyId],
      );
      if (Number(count.rows[0]?.n ?? 0) >= input.maxOnDemand) return { kind: 'limit-exceeded' };
      const next = await setCurrentVersion(c, key, materialId);
      await c.query(
        `UPDATE key_import_materials SET pending_rotation = false
         WHERE region = $1 AND key_id = $2 AND material_id = $3`,
        [key.region, key.keyId, materialId],
      );
      await c.query(
        `INSERT INTO key_rotations (region, key_id, version_id, rotation_date, rotation_type)
         VALUES ($1, $2, $3, $4, $5)`,
        [r.region, r.keyId, r.versionId, r.rotationDate.getTime(), r.rotationType],
      );
      return { kind: 'rotated', key: next };
    });
  }

  async listExpiredImports(before: Date, limit: number): Promise<ImportedMaterialRecord[]> {
    const r = await this.db.query(
      `SELECT * FROM key_import_materials
       WHERE imported AND valid_to IS NOT NULL AND valid_to <= $1
       ORDER BY valid_to LIMIT $2`,
      [before.getTime(), limit],
    );
    return r.rows.map(rowToMaterial);
  }
}

function rowToMaterial(r: Row): ImportedMaterialRecord {
  const m: ImportedMaterialRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    materialId: String(r.material_id),
    pendingRotation: r.pending_rotation === true,
    imported: r.imported === true,
    associatedAt: ms(r.associated_at),
  };
  if (r.expiration_model !== null)
    m.expirationModel = String(r.expiration_model) as ExpirationModel;
  if (r.valid_to !== null) m.validTo = ms(r.valid_to);
  if (r.description !== null) m.description = String(r.description);
  return m;
}
