/**
 * SQLite adapter (embedded default): one file, WAL, synchronous=FULL, so a write that
 * returned is on disk. better-sqlite3 is synchronous; the async interface is kept so the
 * PostgreSQL adapter fits the same contract.
 */
import type BetterSqlite3 from 'better-sqlite3';
import Database from './driver.js';
import { ensurePrivateDbFile } from './private-file.js';
import {
  ConcurrentUpdateError,
  type AccessKeyRecord,
  type AliasRecord,
  type DomainKeyRecord,
  type KeyLastUsageRecord,
  type KeyRecord,
  type KeyState,
  type KeyVersionRecord,
  type PageRequest,
  type Storage,
  type TagRecord,
} from '../repository.js';
import { keyVersionWrites, type KeyVersionWrites } from './key-version-writes.js';
import { decodeBindings, encodeBindings } from '../principal-bindings.js';
import { MIGRATIONS } from './migrations.js';
import { sqliteExecutor, type SqliteExecutor } from '../sql/executor.js';
import * as tagSql from '../sql/tags.js';
import * as aliasSql from '../sql/aliases.js';
import * as accessKeySql from '../sql/access-keys.js';
import { SqlMultiRegionRepository } from '../sql/multi-region.js';
import { SqliteGrantRepository } from './sqlite-grants.js';
import { SqliteIamRepository } from './sqlite-iam.js';
import { SqliteChangeLog } from './sqlite-change-log.js';
import { SqliteLeases } from './sqlite-leases.js';
import { SqliteRotationRepository } from './sqlite-rotation.js';
import { SqliteCustomKeyStoreRepository } from './sqlite-custom-key-stores.js';
import { SqliteImportRepository } from './sqlite-import.js';

type Row = Record<string, unknown>;

export class SqliteStorage implements Storage {
  readonly db: BetterSqlite3.Database;
  readonly #s: ReturnType<typeof prepare>;
  /** The queries written once for both adapters (src/storage/sql/). */
  readonly #sql: SqliteExecutor;
  readonly #versions: KeyVersionWrites;
  readonly grants: SqliteGrantRepository;
  readonly iam: SqliteIamRepository;
  readonly rotation: SqliteRotationRepository;
  readonly multiRegion: SqlMultiRegionRepository;
  readonly imports: SqliteImportRepository;
  readonly customKeyStores: SqliteCustomKeyStoreRepository;
  /** Cross-process invalidation (change_log + PRAGMA data_version). */
  readonly changes: SqliteChangeLog;
  /** Background-job leases between the workers of one node. */
  readonly leases: SqliteLeases;

  constructor(path: string) {
    ensurePrivateDbFile(path);
    const db = new Database(path);
    // busy_timeout first: another process (an offline CLI) may open the file while a node writes.
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    migrate(db);
    this.db = db;
    this.#s = prepare(db);
    this.#sql = sqliteExecutor(db);
    this.changes = new SqliteChangeLog(db);
    this.#versions = keyVersionWrites(db, this.changes);
    this.grants = new SqliteGrantRepository(db);
    this.iam = new SqliteIamRepository(db, this.changes);
    this.rotation = new SqliteRotationRepository(db, this.changes);
    this.multiRegion = new SqlMultiRegionRepository(this.#sql);
    this.imports = new SqliteImportRepository(db, this.changes);
    this.leases = new SqliteLeases(db);
    this.customKeyStores = new SqliteCustomKeyStoreRepository(db);
  }

  async close(): Promise<void> {
    this.db.close();
  }

  // ---- keys ----

  async createKey(
    key: KeyRecord,
    version: KeyVersionRecord | undefined,
    tags: TagRecord[],
  ): Promise<void> {
    this.db.transaction(() => {
      this.#s.insertKey.run(keyToRow(key));
      if (version !== undefined) this.#versions.insert(version);
      this.#sql.query(tagSql.putTags(key.region, key.keyId, tags));
    })();
  }

  async getKey(region: string, keyId: string): Promise<KeyRecord | undefined> {
    const row = this.#s.getKey.get(region, keyId) as Row | undefined;
    return row === undefined ? undefined : rowToKey(row);
  }

  async listKeys(region: string, accountId: string, page: PageRequest): Promise<KeyRecord[]> {
    const rows = this.#s.listKeys.all(region, accountId, page.after ?? '', page.limit) as Row[];
    return rows.map(rowToKey);
  }

  async updateKey(key: KeyRecord): Promise<KeyRecord> {
    const next = { ...key, revision: key.revision + 1 };
    this.db.transaction(() => {
      const res = this.#s.updateKey.run({ ...keyToRow(next), prev_revision: key.revision });
      if (res.changes !== 1) throw new ConcurrentUpdateError(key.arn);
      // Other processes on this file drop their cached record (state, policy) at once.
      this.changes.record(`k:${key.region}/${key.keyId}`);
    })();
    return next;
  }

  async listKeysDueForDeletion(before: Date, limit: number): Promise<KeyRecord[]> {
    return (this.#s.keysDue.all(before.getTime(), limit) as Row[]).map(rowToKey);
  }

  async listKeysCreatingSince(before: Date, limit: number): Promise<KeyRecord[]> {
    return (this.#s.keysCreating.all(before.getTime(), limit) as Row[]).map(rowToKey);
  }

  async deleteKey(region: string, keyId: string): Promise<void> {
    this.db.transaction(() => {
      this.#s.deleteKey.run(region, keyId);
      this.#s.deleteVersions.run(region, keyId);
      this.#sql.query(tagSql.deleteAllTags(region, keyId));
      this.#sql.query(aliasSql.deleteAliasesOfKey(region, keyId));
      this.changes.record(`k:${region}/${keyId}`);
    })();
  }

  // ---- key usage ----

  async putKeyLastUsage(rows: KeyLastUsageRecord[]): Promise<void> {
    this.db.transaction(() => {
      for (const r of rows) {
        this.#s.putUsage.run(
          r.region,
          r.keyId,
          r.operation,
          r.usedAt.getTime(),
          r.eventId,
          r.requestId,
        );
      }
    })();
  }

  async getKeyLastUsage(region: string, keyId: string): Promise<KeyLastUsageRecord | undefined> {
    const r = this.#s.getUsage.get(region, keyId) as Row | undefined;
    if (r === undefined) return undefined;
    return {
      region,
      keyId,
      operation: String(r.operation),
      usedAt: new Date(Number(r.used_at)),
      eventId: String(r.event_id),
      requestId: String(r.request_id),
    };
  }

  async getUsageTrackingStart(): Promise<Date> {
    const r = this.#s.trackingStart.get() as { value: string } | undefined;
    return new Date(Number(r?.value ?? 0));
  }

  // ---- key versions ----

  async addKeyVersion(version: KeyVersionRecord): Promise<void> {
    this.#versions.insert(version);
  }

  async getKeyVersion(
    region: string,
    keyId: string,
    versionId: string,
  ): Promise<KeyVersionRecord | undefined> {
    const row = this.#s.getVersion.get(region, keyId, versionId) as Row | undefined;
    return row === undefined ? undefined : rowToVersion(row);
  }

  async listKeyVersions(region: string, keyId: string): Promise<KeyVersionRecord[]> {
    return (this.#s.listVersions.all(region, keyId) as Row[]).map(rowToVersion);
  }

  async listVersionsByDomainKey(domainKeyId: string, limit: number): Promise<KeyVersionRecord[]> {
    return (this.#s.versionsByDomainKey.all(domainKeyId, limit) as Row[]).map(rowToVersion);
  }

  async replaceEkt(version: KeyVersionRecord, previousDomainKeyId: string): Promise<boolean> {
    return this.db.transaction(() => {
      const res = this.#s.replaceEkt.run(
        version.domainKeyId,
        version.ekt,
        version.region,
        version.keyId,
        version.versionId,
        previousDomainKeyId,
      );
      // Other processes hold the version (and its old EKT) in their caches.
      if (res.changes === 1) this.changes.record(`k:${version.region}/${version.keyId}`);
      return res.changes === 1;
    })();
  }

  // ---- tags ----

  async listTags(region: string, keyId: string): Promise<TagRecord[]> {
    return this.#sql.query(tagSql.listTags(region, keyId));
  }

  async putTags(region: string, keyId: string, tags: TagRecord[]): Promise<void> {
    this.#sql.tx(tagSql.putTags(region, keyId, tags));
  }

  async deleteTags(region: string, keyId: string, tagKeys: string[]): Promise<void> {
    this.#sql.tx(tagSql.deleteTags(region, keyId, tagKeys));
  }

  // ---- aliases ----

  async createAlias(alias: AliasRecord): Promise<void> {
    this.#sql.query(aliasSql.createAlias(alias));
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
    return (this.#s.listDomainKeys.all() as Row[]).map((r) => ({
      id: String(r.id),
      wrapped: r.wrapped as Buffer,
      createdAt: new Date(Number(r.created_at)),
      active: r.active === 1,
    }));
  }

  async addActiveDomainKey(key: DomainKeyRecord): Promise<void> {
    this.db.transaction(() => {
      this.#s.deactivateDomainKeys.run();
      this.#s.insertDomainKey.run(key.id, key.wrapped, key.createdAt.getTime());
      // Other processes reload their keyring before they need the new domain key.
      this.changes.record('dk');
    })();
  }

  async deleteDomainKey(id: string): Promise<void> {
    this.db.transaction(() => {
      if (this.#s.deleteDomainKey.run(id).changes === 1) this.changes.record('dk');
    })();
  }

  // ---- access keys ----

  async putAccessKey(key: AccessKeyRecord): Promise<void> {
    this.db.transaction(() => {
      this.#sql.query(accessKeySql.putAccessKey(key));
      this.changes.record(`ak:${key.accessKeyId}`);
    })();
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    return this.#sql.query(accessKeySql.getAccessKey(accessKeyId));
  }

  async listAccessKeys(accountId: string): Promise<AccessKeyRecord[]> {
    return this.#sql.query(accessKeySql.listAccessKeys(accountId));
  }
}

function migrate(db: BetterSqlite3.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      m.run?.(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

function prepare(db: BetterSqlite3.Database) {
  const keyCols =
    'region, key_id, account_id, arn, description, key_state, key_spec, key_usage, origin, key_manager, multi_region, policy, policy_principals, creation_date, deletion_date, pending_window_days, current_version_id, revision';
  const keyVals = keyCols
    .split(', ')
    .map((c) => `@${c}`)
    .join(', ');
  return {
    insertKey: db.prepare(`INSERT INTO keys (${keyCols}) VALUES (${keyVals})`),
    getKey: db.prepare('SELECT * FROM keys WHERE region = ? AND key_id = ?'),
    listKeys: db.prepare(
      'SELECT * FROM keys WHERE region = ? AND account_id = ? AND key_id > ? ORDER BY key_id LIMIT ?',
    ),
    updateKey: db.prepare(
      `UPDATE keys SET description = @description, key_state = @key_state, key_usage = @key_usage,
         policy = @policy, policy_principals = @policy_principals, deletion_date = @deletion_date, pending_window_days = @pending_window_days,
         current_version_id = @current_version_id, multi_region = @multi_region, revision = @revision
       WHERE region = @region AND key_id = @key_id AND revision = @prev_revision`,
    ),
    keysDue: db.prepare(
      "SELECT * FROM keys WHERE key_state = 'PendingDeletion' AND deletion_date <= ? ORDER BY deletion_date LIMIT ?",
    ),
    keysCreating: db.prepare(
      "SELECT * FROM keys WHERE key_state = 'Creating' AND creation_date <= ? ORDER BY creation_date LIMIT ?",
    ),
    putUsage: db.prepare(
      `INSERT INTO key_last_usage (region, key_id, operation, used_at, event_id, request_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (region, key_id) DO UPDATE SET operation = excluded.operation, used_at = excluded.used_at,
         event_id = excluded.event_id, request_id = excluded.request_id WHERE excluded.used_at >= key_last_usage.used_at`,
    ),
    getUsage: db.prepare('SELECT * FROM key_last_usage WHERE region = ? AND key_id = ?'),
    trackingStart: db.prepare("SELECT value FROM kms_meta WHERE name = 'usage_tracking_start'"),
    deleteKey: db.prepare('DELETE FROM keys WHERE region = ? AND key_id = ?'),
    deleteVersions: db.prepare('DELETE FROM key_versions WHERE region = ? AND key_id = ?'),
    getVersion: db.prepare(
      'SELECT * FROM key_versions WHERE region = ? AND key_id = ? AND version_id = ?',
    ),
    listVersions: db.prepare(
      'SELECT * FROM key_versions WHERE region = ? AND key_id = ? ORDER BY created_at',
    ),
    versionsByDomainKey: db.prepare('SELECT * FROM key_versions WHERE domain_key_id = ? LIMIT ?'),
    replaceEkt: db.prepare(
      'UPDATE key_versions SET domain_key_id = ?, ekt = ? WHERE region = ? AND key_id = ? AND version_id = ? AND domain_key_id = ?',
    ),
    listDomainKeys: db.prepare('SELECT * FROM domain_keys ORDER BY created_at'),
    deactivateDomainKeys: db.prepare('UPDATE domain_keys SET active = 0 WHERE active = 1'),
    insertDomainKey: db.prepare(
      'INSERT INTO domain_keys (id, wrapped, created_at, active) VALUES (?, ?, ?, 1)',
    ),
    deleteDomainKey: db.prepare('DELETE FROM domain_keys WHERE id = ? AND active = 0'),
  };
}

function keyToRow(k: KeyRecord): Row {
  return {
    region: k.region,
    key_id: k.keyId,
    account_id: k.accountId,
    arn: k.arn,
    description: k.description,
    key_state: k.keyState,
    key_spec: k.keySpec,
    key_usage: k.keyUsage,
    origin: k.origin,
    key_manager: k.keyManager,
    multi_region: k.multiRegion ? 1 : 0,
    policy: k.policy,
    policy_principals: encodeBindings(k.policyPrincipals),
    creation_date: k.creationDate.getTime(),
    deletion_date: k.deletionDate?.getTime() ?? null,
    pending_window_days: k.pendingDeletionWindowInDays ?? null,
    current_version_id: k.currentVersionId ?? null,
    revision: k.revision,
  };
}

function rowToKey(r: Row): KeyRecord {
  const key: KeyRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    accountId: String(r.account_id),
    arn: String(r.arn),
    description: String(r.description),
    keyState: String(r.key_state) as KeyState,
    keySpec: String(r.key_spec),
    keyUsage: String(r.key_usage),
    origin: String(r.origin),
    keyManager: r.key_manager === 'AWS' ? 'AWS' : 'CUSTOMER',
    multiRegion: r.multi_region === 1,
    policy: String(r.policy),
    creationDate: new Date(Number(r.creation_date)),
    revision: Number(r.revision),
  };
  // Optional fields are absent, not undefined, so records compare equal after a round trip.
  if (r.deletion_date !== null) key.deletionDate = new Date(Number(r.deletion_date));
  if (r.pending_window_days !== null)
    key.pendingDeletionWindowInDays = Number(r.pending_window_days);
  if (r.current_version_id !== null) key.currentVersionId = String(r.current_version_id);
  const bound = decodeBindings(r.policy_principals);
  if (bound !== undefined) key.policyPrincipals = bound;
  return key;
}

function rowToVersion(r: Row): KeyVersionRecord {
  return {
    region: String(r.region),
    keyId: String(r.key_id),
    versionId: String(r.version_id),
    domainKeyId: String(r.domain_key_id),
    ekt: r.ekt as Buffer,
    createdAt: new Date(Number(r.created_at)),
    ...(r.public_key instanceof Buffer ? { publicKey: r.public_key } : {}),
  };
}
