/**
 * SQLite adapter of the import repository. It shares the database with SqliteStorage, so an
 * import (token consumed + version + key state + import state) is one transaction.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type {
  CompleteImportInput,
  CompleteImportResult,
  ExpirationModel,
  ImportRepository,
  ImportStateRecord,
  ImportTokenRecord,
} from '../import-repository.js';
import type { KeyRecord, KeyState } from '../repository.js';
import { keyVersionWrites, type KeyVersionWrites } from './key-version-writes.js';

type Row = Record<string, unknown>;

export class SqliteImportRepository implements ImportRepository {
  readonly kind = 'import';
  readonly #s: ReturnType<typeof prepare>;
  readonly #versions: KeyVersionWrites;

  constructor(
    readonly db: BetterSqlite3.Database,
    changes?: { record(payload: string): void },
  ) {
    this.#s = prepare(db);
    this.#versions = keyVersionWrites(db, changes);
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

  async getImportState(region: string, keyId: string): Promise<ImportStateRecord | undefined> {
    const r = this.#s.getState.get(region, keyId) as Row | undefined;
    return r === undefined ? undefined : rowToState(r);
  }

  async completeImport(input: CompleteImportInput): Promise<CompleteImportResult> {
    const { key, version } = input;
    return this.db.transaction((): CompleteImportResult => {
      if (this.#s.consumeToken.run(input.tokenId, key.region, key.keyId).changes !== 1) {
        return { kind: 'token-used' };
      }
      // A concurrent change throws, which rolls back the token consumption above.
      const next = this.#versions.setCurrent(key, version.versionId, input.keyState);
      this.#versions.upsert(version);
      this.#s.putState.run(
        key.region,
        key.keyId,
        version.versionId,
        input.expirationModel,
        input.validTo?.getTime() ?? null,
      );
      return { kind: 'imported', key: next };
    })();
  }

  async deleteImportedMaterial(key: KeyRecord, keyState: KeyState): Promise<KeyRecord> {
    return this.db.transaction((): KeyRecord => {
      const next = this.#versions.setCurrent(key, undefined, keyState);
      this.#s.deleteVersions.run(key.region, key.keyId);
      this.#s.markDeleted.run(key.region, key.keyId);
      return next;
    })();
  }

  async listExpiredImports(before: Date, limit: number): Promise<ImportStateRecord[]> {
    return (this.#s.expired.all(before.getTime(), limit) as Row[]).map(rowToState);
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
    getState: db.prepare('SELECT * FROM key_imports WHERE region = ? AND key_id = ?'),
    putState: db.prepare(
      `INSERT INTO key_imports (region, key_id, material_id, imported, expiration_model, valid_to)
       VALUES (?, ?, ?, 1, ?, ?)
       ON CONFLICT (region, key_id) DO UPDATE SET material_id = excluded.material_id,
         imported = 1, expiration_model = excluded.expiration_model, valid_to = excluded.valid_to`,
    ),
    markDeleted: db.prepare(
      `UPDATE key_imports SET imported = 0, expiration_model = NULL, valid_to = NULL
       WHERE region = ? AND key_id = ?`,
    ),
    deleteVersions: db.prepare('DELETE FROM key_versions WHERE region = ? AND key_id = ?'),
    expired: db.prepare(
      `SELECT * FROM key_imports WHERE imported = 1 AND valid_to IS NOT NULL AND valid_to <= ?
       ORDER BY valid_to LIMIT ?`,
    ),
  };
}

function rowToState(r: Row): ImportStateRecord {
  const s: ImportStateRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    materialId: String(r.material_id),
    imported: r.imported === 1,
  };
  // Absent, not undefined, so records compare equal after a round trip.
  if (r.expiration_model !== null)
    s.expirationModel = String(r.expiration_model) as ExpirationModel;
  if (r.valid_to !== null) s.validTo = new Date(Number(r.valid_to));
  return s;
}
