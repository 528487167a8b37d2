/**
 * SQLite adapter of the import repository. It shares the database with SqliteStorage, so an
 * import (token consumed + version + key state + material record) is one transaction, and
 * so is an on-demand rotation to imported material.
 */
import type BetterSqlite3 from 'better-sqlite3';
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
import { keyVersionWrites, type KeyVersionWrites } from './key-version-writes.js';

type Row = Record<string, unknown>;

export class SqliteImportRepository implements ImportRepository {
  readonly kind = 'import';
  readonly #s: ReturnType<typeof prepare>;
  readonly #versions: KeyVersionWrites;

  constructor(readonly db: BetterSqlite3.Database) {
    this.#s = prepare(db);
    this.#versions = keyVersionWrites(db);
  }

  async putImportToken(t: ImportTokenRecord): Promise<void> {
    this.#s.putToken.run(
      t.tokenId,
      t.region,
      t.keyId,
      t.wrappingAlgorithm,
      t.wrappingKeySpec,
      t.sealedPrivateKey,
      t.validTo.getTime(),
    );
  }

  async getImportToken(tokenId: string): Promise<ImportTokenRecord | undefined> {
    const r = this.#s.getToken.get(tokenId) as Row | undefined;
    if (r === undefined) return undefined;
    return {
      tokenId: String(r.token_id),
      region: String(r.region),
      keyId: String(r.key_id),
      wrappingAlgorithm: String(r.wrapping_algorithm),
      wrappingKeySpec: String(r.wrapping_key_spec),
      sealedPrivateKey: r.sealed_private_key as Buffer,
      validTo: new Date(Number(r.valid_to)),
    };
  }

  async deleteExpiredImportTokens(before: Date): Promise<number> {
    return this.#s.deleteExpiredTokens.run(before.getTime()).changes;
  }

  async listImportedMaterials(region: string, keyId: string): Promise<ImportedMaterialRecord[]> {
    return (this.#s.listMaterials.all(region, keyId) as Row[]).map(rowToMaterial);
  }

  async completeImport(input: CompleteImportInput): Promise<CompleteImportResult> {
    const { key, version, material: m } = input;
    return this.db.transaction((): CompleteImportResult => {
      if (this.#s.consumeToken.run(input.tokenId, key.region, key.keyId).changes !== 1) {
        return { kind: 'token-used' };
      }
      // A concurrent change throws, which rolls back the token consumption above.
      const next = this.#versions.setCurrent(key, input.currentVersionId, input.keyState);
      this.#versions.upsert(version);
      this.#s.putMaterial.run(
        m.region,
        m.keyId,
        m.materialId,
        m.pendingRotation ? 1 : 0,
        m.imported ? 1 : 0,
        m.expirationModel ?? null,
        m.validTo?.getTime() ?? null,
        m.description ?? null,
        m.associatedAt.getTime(),
      );
      return { kind: 'imported', key: next };
    })();
  }

  async deleteImportedMaterial(input: DeleteMaterialInput): Promise<KeyRecord> {
    const { key, materialId } = input;
    return this.db.transaction((): KeyRecord => {
      const next = this.#versions.setCurrent(key, key.currentVersionId, input.keyState);
      this.#s.deleteVersion.run(key.region, key.keyId, materialId);
      if (input.forget) this.#s.forgetMaterial.run(key.region, key.keyId, materialId);
      else this.#s.markDeleted.run(key.region, key.keyId, materialId);
      return next;
    })();
  }

  async rotateToImportedMaterial(input: RotateToMaterialInput): Promise<RotateKeyResult> {
    const { key, materialId, rotation: r } = input;
    return this.db.transaction((): RotateKeyResult => {
      const { n } = this.#s.countOnDemand.get(key.region, key.keyId) as { n: number };
      if (n >= input.maxOnDemand) return { kind: 'limit-exceeded' };
      const next = this.#versions.setCurrent(key, materialId);
      this.#s.markAssociated.run(key.region, key.keyId, materialId);
      this.#s.insertRotation.run(
        r.region,
        r.keyId,
        r.versionId,
        r.rotationDate.getTime(),
        r.rotationType,
      );
      return { kind: 'rotated', key: next };
    })();
  }

  async listExpiredImports(before: Date, limit: number): Promise<ImportedMaterialRecord[]> {
    return (this.#s.expired.all(before.getTime(), limit) as Row[]).map(rowToMaterial);
  }
}

function prepare(db: BetterSqlite3.Database) {
  return {
    putToken: db.prepare(
      `INSERT INTO import_tokens (token_id, region, key_id, wrapping_algorithm, wrapping_key_spec,
         sealed_private_key, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    getToken: db.prepare('SELECT * FROM import_tokens WHERE token_id = ?'),
    consumeToken: db.prepare(
      'DELETE FROM import_tokens WHERE token_id = ? AND region = ? AND key_id = ?',
    ),
    deleteExpiredTokens: db.prepare('DELETE FROM import_tokens WHERE valid_to <= ?'),
    listMaterials: db.prepare(
      `SELECT * FROM key_import_materials WHERE region = ? AND key_id = ?
       ORDER BY associated_at, material_id`,
    ),
    putMaterial: db.prepare(
      `INSERT INTO key_import_materials (region, key_id, material_id, pending_rotation, imported,
         expiration_model, valid_to, description, associated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (region, key_id, material_id) DO UPDATE SET
         pending_rotation = excluded.pending_rotation, imported = excluded.imported,
         expiration_model = excluded.expiration_model, valid_to = excluded.valid_to,
         description = excluded.description, associated_at = excluded.associated_at`,
    ),
    markDeleted: db.prepare(
      `UPDATE key_import_materials SET imported = 0, expiration_model = NULL, valid_to = NULL
       WHERE region = ? AND key_id = ? AND material_id = ?`,
    ),
    forgetMaterial: db.prepare(
      'DELETE FROM key_import_materials WHERE region = ? AND key_id = ? AND material_id = ?',
    ),
    markAssociated: db.prepare(
      `UPDATE key_import_materials SET pending_rotation = 0
       WHERE region = ? AND key_id = ? AND material_id = ?`,
    ),
    deleteVersion: db.prepare(
      'DELETE FROM key_versions WHERE region = ? AND key_id = ? AND version_id = ?',
    ),
    countOnDemand: db.prepare(
      `SELECT count(*) AS n FROM key_rotations
       WHERE region = ? AND key_id = ? AND rotation_type = 'ON_DEMAND'`,
    ),
    insertRotation: db.prepare(
      `INSERT INTO key_rotations (region, key_id, version_id, rotation_date, rotation_type)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    expired: db.prepare(
      `SELECT * FROM key_import_materials
       WHERE imported = 1 AND valid_to IS NOT NULL AND valid_to <= ?
       ORDER BY valid_to LIMIT ?`,
    ),
  };
}

function rowToMaterial(r: Row): ImportedMaterialRecord {
  const m: ImportedMaterialRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    materialId: String(r.material_id),
    pendingRotation: r.pending_rotation === 1,
    imported: r.imported === 1,
    associatedAt: new Date(Number(r.associated_at)),
  };
  // Absent, not undefined, so records compare equal after a round trip.
  if (r.expiration_model !== null)
    m.expirationModel = String(r.expiration_model) as ExpirationModel;
  if (r.valid_to !== null) m.validTo = new Date(Number(r.valid_to));
  if (r.description !== null) m.description = String(r.description);
  return m;
}
