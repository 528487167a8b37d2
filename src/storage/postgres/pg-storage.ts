/**
 * PostgreSQL adapter: the same Storage contract as the SQLite adapter, for several keyhold
 * nodes sharing one database. Writes that AWS semantics need atomic run in one
 * transaction; every write that another node may have cached queues a NOTIFY in the same
 * transaction (delivered at commit), see pg-notify.ts.
 */
import {
  ConcurrentUpdateError,
  type AccessKeyRecord,
  type AliasRecord,
  type DomainKeyRecord,
  type KeyLastUsageRecord,
  type KeyRecord,
  type KeyVersionRecord,
  type PageRequest,
  type Storage,
  type TagRecord,
} from '../repository.js';
import { PgDb, changes, type PgDbOptions } from './pg-db.js';
import { migratePg } from './pg-migrations.js';
import { pgExecutor, type PgExecutor } from '../sql/executor.js';
import * as tagSql from '../sql/tags.js';
import * as aliasSql from '../sql/aliases.js';
import * as accessKeySql from '../sql/access-keys.js';
import { SqlMultiRegionRepository } from '../sql/multi-region.js';
import { encodeBindings } from '../principal-bindings.js';
import {
  KEY_COLUMNS,
  insertVersion,
  keyParams,
  ms,
  notify,
  rowToKey,
  rowToVersion,
  type Row,
} from './pg-rows.js';
import { PgGrantRepository } from './pg-grants.js';
import { PgIamRepository } from './pg-iam.js';
import { PgRotationRepository } from './pg-rotation.js';
import { PgImportRepository } from './pg-import.js';
import { PgLeases } from './pg-leases.js';
import { PgCustomKeyStoreRepository } from './pg-custom-key-stores.js';

const KEY_PLACEHOLDERS = KEY_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
const BOOTSTRAP_LOCK = 7_300_417_002;

export class PostgresStorage implements Storage {
  readonly kind = 'postgres';
  readonly db: PgDb;
  readonly grants: PgGrantRepository;
  readonly iam: PgIamRepository;
  readonly rotation: PgRotationRepository;
  readonly imports: PgImportRepository;
  readonly multiRegion: SqlMultiRegionRepository;
  readonly leases: PgLeases;
  readonly customKeyStores: PgCustomKeyStoreRepository;
  readonly schema: string | undefined;
  /** The queries written once for both adapters (src/storage/sql/). */
  readonly #sql: PgExecutor;
  #migrated = false;

  private constructor(db: PgDb, schema: string | undefined) {
    this.db = db;
    this.schema = schema;
    this.#sql = pgExecutor(db);
    this.grants = new PgGrantRepository(db);
    this.iam = new PgIamRepository(db);
    this.rotation = new PgRotationRepository(db);
    this.imports = new PgImportRepository(db);
    this.multiRegion = new SqlMultiRegionRepository(this.#sql);
    this.leases = new PgLeases(db);
    this.customKeyStores = new PgCustomKeyStoreRepository(db);
  }

  /** Connect (to the first writable host) and apply pending migrations. */
  static async open(url: string, opts: PgDbOptions = {}): Promise<PostgresStorage> {
    const db = new PgDb(url, opts);
    const s = new PostgresStorage(db, opts.schema);
    try {
      await s.migrate();
    } catch (err) {
      await db.close();
      throw err;
    }
    return s;
  }

  async migrate(): Promise<void> {
    await this.db.withClient((c) => migratePg(c, this.schema));
    this.#migrated = true;
  }

  get migrated(): boolean {
    return this.#migrated;
  }

  /**
   * Run `fn` while holding a session advisory lock, so that two nodes starting on an empty
   * database do not both create the first domain key and administrator key.
   */
  async withBootstrapLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK]);
      return fn();
    });
  }

  async getMeta(name: string): Promise<string | undefined> {
    const r = await this.db.query('SELECT value FROM kms_meta WHERE name = $1', [name]);
    const v = r.rows[0]?.value;
    return v === undefined ? undefined : String(v);
  }

  /** A value of kms_meta, inserted first when absent (first writer wins). */
  async getOrCreateMeta(name: string, value: string): Promise<string> {
    await this.db.query(
      'INSERT INTO kms_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [name, value],
    );
    const r = await this.db.query<{ value: string }>('SELECT value FROM kms_meta WHERE name = $1', [
      name,
    ]);
    return String(r.rows[0]?.value);
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.db.query(
      'INSERT INTO kms_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value',
      [name, value],
    );
  }

  async deleteMeta(name: string): Promise<void> {
    await this.db.query('DELETE FROM kms_meta WHERE name = $1', [name]);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  // ---- keys ----

  async createKey(
    key: KeyRecord,
    version: KeyVersionRecord | undefined,
    tags: TagRecord[],
  ): Promise<void> {
    await this.db.tx(async (c) => {
      await c.query(
        `INSERT INTO keys (${KEY_COLUMNS.join(', ')}) VALUES (${KEY_PLACEHOLDERS})`,
        keyParams(key),
      );
      if (version !== undefined) await insertVersion(c, version);
      await this.#sql.query(tagSql.putTags(key.region, key.keyId, tags), c);
    });
  }

  async getKey(region: string, keyId: string): Promise<KeyRecord | undefined> {
    const r = await this.db.query('SELECT * FROM keys WHERE region = $1 AND key_id = $2', [
      region,
      keyId,
    ]);
    const row = r.rows[0];
    return row === undefined ? undefined : rowToKey(row);
  }

  async listKeys(region: string, accountId: string, page: PageRequest): Promise<KeyRecord[]> {
    const r = await this.db.query(
      'SELECT * FROM keys WHERE region = $1 AND account_id = $2 AND key_id > $3 ORDER BY key_id LIMIT $4',
      [region, accountId, page.after ?? '', page.limit],
    );
    return r.rows.map(rowToKey);
  }

  async updateKey(key: KeyRecord): Promise<KeyRecord> {
    const next = { ...key, revision: key.revision + 1 };
    return this.db.tx(async (c) => {
      const r = await c.query(
        `UPDATE keys SET description = $3, key_state = $4, key_usage = $5, policy = $6,
           deletion_date = $7, pending_window_days = $8, current_version_id = $9,
           multi_region = $10, revision = $11, policy_principals = $13
         WHERE region = $1 AND key_id = $2 AND revision = $12`,
        [
          key.region,
          key.keyId,
          next.description,
          next.keyState,
          next.keyUsage,
          next.policy,
          next.deletionDate?.getTime() ?? null,
          next.pendingDeletionWindowInDays ?? null,
          next.currentVersionId ?? null,
          next.multiRegion,
          next.revision,
          key.revision,
          encodeBindings(next.policyPrincipals),
        ],
      );
      if (changes(r) !== 1) throw new ConcurrentUpdateError(key.arn);
      await notify(c, `k:${key.region}/${key.keyId}`);
      return next;
    });
  }

  async listKeysDueForDeletion(before: Date, limit: number): Promise<KeyRecord[]> {
    const r = await this.db.query(
      "SELECT * FROM keys WHERE key_state = 'PendingDeletion' AND deletion_date <= $1 ORDER BY deletion_date LIMIT $2",
      [before.getTime(), limit],
    );
    return r.rows.map(rowToKey);
  }

  async listKeysCreatingSince(before: Date, limit: number): Promise<KeyRecord[]> {
    const r = await this.db.query(
      "SELECT * FROM keys WHERE key_state = 'Creating' AND creation_date <= $1 ORDER BY creation_date LIMIT $2",
      [before.getTime(), limit],
    );
    return r.rows.map(rowToKey);
  }

  async deleteKey(region: string, keyId: string): Promise<void> {
    await this.db.tx(async (c) => {
      const k = await c.query<{ account_id: string }>(
        'DELETE FROM keys WHERE region = $1 AND key_id = $2 RETURNING account_id',
        [region, keyId],
      );
      // What SQLite's triggers do on key deletion, spelled out.
      for (const table of [
        'key_versions',
        'key_tags',
        'grant_tokens',
        'grants',
        'key_rotation_settings',
        'key_rotations',
        'import_tokens',
        'key_import_materials',
        'key_last_usage',
        'custom_key_store_keys',
      ]) {
        await c.query(`DELETE FROM ${table} WHERE region = $1 AND key_id = $2`, [region, keyId]);
      }
      await this.#sql.query(aliasSql.deleteAliasesOfKey(region, keyId), c);
      const account = k.rows[0]?.account_id;
      if (account !== undefined) {
        await c.query(
          'DELETE FROM mrk_replicas WHERE account_id = $1 AND key_id = $2 AND region = $3',
          [account, keyId, region],
        );
      }
      await notify(c, `k:${region}/${keyId}`);
    });
  }

  // ---- key usage ----

  async putKeyLastUsage(rows: KeyLastUsageRecord[]): Promise<void> {
    if (rows.length === 0) return;
    // One lock order for every writer: two nodes (or workers) flushing the same keys in
    // different orders would otherwise deadlock.
    const ordered = [...rows].sort((a, b) =>
      a.region === b.region
        ? a.keyId < b.keyId
          ? -1
          : a.keyId > b.keyId
            ? 1
            : 0
        : a.region < b.region
          ? -1
          : 1,
    );
    await this.db.tx(async (c) => {
      for (const r of ordered) {
        await c.query(
          `INSERT INTO key_last_usage (region, key_id, operation, used_at, event_id, request_id)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (region, key_id) DO UPDATE SET operation = excluded.operation,
             used_at = excluded.used_at, event_id = excluded.event_id, request_id = excluded.request_id
           WHERE excluded.used_at >= key_last_usage.used_at`,
          [r.region, r.keyId, r.operation, r.usedAt.getTime(), r.eventId, r.requestId],
        );
      }
    });
  }

  async getKeyLastUsage(region: string, keyId: string): Promise<KeyLastUsageRecord | undefined> {
    const r = await this.db.query(
      'SELECT * FROM key_last_usage WHERE region = $1 AND key_id = $2',
      [region, keyId],
    );
    const row = r.rows[0];
    if (row === undefined) return undefined;
    return {
      region,
      keyId,
      operation: String(row.operation),
      usedAt: ms(row.used_at),
      eventId: String(row.event_id),
      requestId: String(row.request_id),
    };
  }

  async getUsageTrackingStart(): Promise<Date> {
    const r = await this.db.query<{ value: string }>(
      "SELECT value FROM kms_meta WHERE name = 'usage_tracking_start'",
    );
    return ms(r.rows[0]?.value ?? 0);
  }

  // ---- key versions ----

  async addKeyVersion(version: KeyVersionRecord): Promise<void> {
    await insertVersion(this.db, version);
  }

  async getKeyVersion(
    region: string,
    keyId: string,
    versionId: string,
  ): Promise<KeyVersionRecord | undefined> {
    const r = await this.db.query(
      'SELECT * FROM key_versions WHERE region = $1 AND key_id = $2 AND version_id = $3',
      [region, keyId, versionId],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : rowToVersion(row);
  }

  async listKeyVersions(region: string, keyId: string): Promise<KeyVersionRecord[]> {
    const r = await this.db.query(
      'SELECT * FROM key_versions WHERE region = $1 AND key_id = $2 ORDER BY created_at',
      [region, keyId],
    );
    return r.rows.map(rowToVersion);
  }

  async listVersionsByDomainKey(domainKeyId: string, limit: number): Promise<KeyVersionRecord[]> {
    const r = await this.db.query('SELECT * FROM key_versions WHERE domain_key_id = $1 LIMIT $2', [
      domainKeyId,
      limit,
    ]);
    return r.rows.map(rowToVersion);
  }

  async replaceEkt(version: KeyVersionRecord, previousDomainKeyId: string): Promise<boolean> {
    return this.db.tx(async (c) => {
      const r = await c.query(
        `UPDATE key_versions SET domain_key_id = $1, ekt = $2
         WHERE region = $3 AND key_id = $4 AND version_id = $5 AND domain_key_id = $6`,
        [
          version.domainKeyId,
          version.ekt,
          version.region,
          version.keyId,
          version.versionId,
          previousDomainKeyId,
        ],
      );
      if (changes(r) === 1) await notify(c, `k:${version.region}/${version.keyId}`);
      return changes(r) === 1;
    });
  }

  // ---- tags ----

  async listTags(region: string, keyId: string): Promise<TagRecord[]> {
    return this.#sql.query(tagSql.listTags(region, keyId));
  }

  async putTags(region: string, keyId: string, tags: TagRecord[]): Promise<void> {
    await this.#sql.tx(tagSql.putTags(region, keyId, tags));
  }

  async deleteTags(region: string, keyId: string, tagKeys: string[]): Promise<void> {
    await this.#sql.tx(tagSql.deleteTags(region, keyId, tagKeys));
  }

  // ---- aliases ----

  async createAlias(alias: AliasRecord): Promise<void> {
    await this.#sql.query(aliasSql.createAlias(alias));
  }

  async getAlias(
    region: string,
    accountId: string,
    aliasName: string,
  ): Promise<AliasRecord | undefined> {
    return this.#sql.query(aliasSql.getAlias(region, accountId, aliasName));
  }

  async updateAlias(alias: AliasRecord): Promise<boolean> {
    return this.#sql.query(aliasSql.updateAlias(alias));
  }

  async deleteAlias(region: string, accountId: string, aliasName: string): Promise<boolean> {
    return this.#sql.query(aliasSql.deleteAlias(region, accountId, aliasName));
  }

  async listAliases(
    region: string,
    accountId: string,
    page: PageRequest,
    targetKeyId?: string,
  ): Promise<AliasRecord[]> {
    return this.#sql.query(aliasSql.listAliases(region, accountId, page, targetKeyId));
  }

  async countAliasesForKey(
    region: string,
    accountId: string,
    targetKeyId: string,
  ): Promise<number> {
    return this.#sql.query(aliasSql.countAliasesForKey(region, accountId, targetKeyId));
  }

  // ---- domain keys ----

  async listDomainKeys(): Promise<DomainKeyRecord[]> {
    const r = await this.db.query('SELECT * FROM domain_keys ORDER BY created_at, id');
    return r.rows.map((x: Row) => ({
      id: String(x.id),
      wrapped: x.wrapped as Buffer,
      createdAt: ms(x.created_at),
      active: x.active === true,
    }));
  }

  async addActiveDomainKey(key: DomainKeyRecord): Promise<void> {
    await this.db.tx(async (c) => {
      // Serialise rotations from several nodes (one active key is also a unique index).
      await c.query('LOCK TABLE domain_keys IN SHARE ROW EXCLUSIVE MODE');
      await c.query('UPDATE domain_keys SET active = false WHERE active');
      await c.query(
        'INSERT INTO domain_keys (id, wrapped, created_at, active) VALUES ($1, $2, $3, true)',
        [key.id, key.wrapped, key.createdAt.getTime()],
      );
      await notify(c, 'dk');
    });
  }

  async deleteDomainKey(id: string): Promise<void> {
    // Never while an EKT still refers to it (another node may have wrapped one meanwhile).
    await this.db.query(
      `DELETE FROM domain_keys WHERE id = $1 AND NOT active
         AND NOT EXISTS (SELECT 1 FROM key_versions WHERE domain_key_id = $1)`,
      [id],
    );
  }

  // ---- access keys ----

  async putAccessKey(key: AccessKeyRecord): Promise<void> {
    await this.db.tx(async (c) => {
      await this.#sql.query(accessKeySql.putAccessKey(key), c);
      await notify(c, `ak:${key.accessKeyId}`);
    });
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    return this.#sql.query(accessKeySql.getAccessKey(accessKeyId));
  }

  async listAccessKeys(accountId: string): Promise<AccessKeyRecord[]> {
    return this.#sql.query(accessKeySql.listAccessKeys(accountId));
  }
}
