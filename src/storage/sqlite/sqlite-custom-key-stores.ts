/** SQLite adapter of the custom key store repository (same database as SqliteStorage). */
import type BetterSqlite3 from 'better-sqlite3';
import type {
  CloudHsmSettings,
  ConnectionErrorCode,
  ConnectionState,
  CustomKeyStoreKeyRecord,
  CustomKeyStoreRecord,
  CustomKeyStoreType,
  XksProxySettings,
} from '../../keystores/types.js';
import type { CustomKeyStoreRepository } from '../custom-key-store-repository.js';
import { ConcurrentUpdateError, DuplicateKeyError, type PageRequest } from '../repository.js';

type Row = Record<string, unknown>;

interface Settings {
  cloudHsm?: CloudHsmSettings;
  xks?: XksProxySettings;
}

export class SqliteCustomKeyStoreRepository implements CustomKeyStoreRepository {
  readonly #s: ReturnType<typeof prepare>;

  constructor(readonly db: BetterSqlite3.Database) {
    this.#s = prepare(db);
  }

  async createStore(store: CustomKeyStoreRecord): Promise<void> {
    try {
      this.#s.insert.run(toRow(store));
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(`custom key store ${store.name}`);
      throw err;
    }
  }

  async getStore(region: string, id: string): Promise<CustomKeyStoreRecord | undefined> {
    const row = this.#s.get.get(region, id) as Row | undefined;
    return row && fromRow(row);
  }

  async getStoreByName(
    region: string,
    accountId: string,
    name: string,
  ): Promise<CustomKeyStoreRecord | undefined> {
    const row = this.#s.getByName.get(region, accountId, name) as Row | undefined;
    return row && fromRow(row);
  }

  async listStores(
    region: string,
    accountId: string,
    page: PageRequest,
  ): Promise<CustomKeyStoreRecord[]> {
    const rows = this.#s.list.all(region, accountId, page.after ?? '', page.limit) as Row[];
    return rows.map(fromRow);
  }

  async listAllStores(): Promise<CustomKeyStoreRecord[]> {
    return (this.#s.listAll.all() as Row[]).map(fromRow);
  }

  async countStores(region: string, accountId: string): Promise<number> {
    return (this.#s.count.get(region, accountId) as { n: number }).n;
  }

  async updateStore(store: CustomKeyStoreRecord): Promise<CustomKeyStoreRecord> {
    let changes: number;
    try {
      changes = this.#s.update.run({ ...toRow(store), next: store.revision + 1 }).changes;
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(`custom key store ${store.name}`);
      throw err;
    }
    if (changes !== 1)
      throw new ConcurrentUpdateError(`custom key store ${store.customKeyStoreId}`);
    return { ...store, revision: store.revision + 1 };
  }

  async reserveGcmInvocations(counterId: string, n: number): Promise<number> {
    const row = this.#s.reserveGcm.get(`gcm_invocations/${counterId}`, String(n), n) as {
      value: string;
    };
    return Number(row.value);
  }

  async deleteStore(region: string, id: string): Promise<boolean> {
    return this.#s.delete.run(region, id).changes === 1;
  }

  async putKeyBinding(b: CustomKeyStoreKeyRecord): Promise<void> {
    this.#s.putBinding.run(
      b.region,
      b.keyId,
      b.customKeyStoreId,
      b.backingKeyId,
      b.createdAt.getTime(),
    );
  }

  async getKeyBinding(region: string, keyId: string): Promise<CustomKeyStoreKeyRecord | undefined> {
    const row = this.#s.getBinding.get(region, keyId) as Row | undefined;
    return row && bindingFromRow(row);
  }

  async findKeyBindings(
    region: string,
    storeId: string,
    backingKeyId?: string,
  ): Promise<CustomKeyStoreKeyRecord[]> {
    const rows =
      backingKeyId === undefined
        ? (this.#s.bindingsOfStore.all(region, storeId) as Row[])
        : (this.#s.bindingsByBacking.all(region, storeId, backingKeyId) as Row[]);
    return rows.map(bindingFromRow);
  }

  async countKeysInStore(region: string, storeId: string): Promise<number> {
    return (this.#s.countKeys.get(region, storeId) as { n: number }).n;
  }

  async deleteKeyBinding(region: string, keyId: string): Promise<void> {
    this.#s.deleteBinding.run(region, keyId);
  }
}

function prepare(db: BetterSqlite3.Database) {
  const cols =
    'region, store_id, account_id, name, store_type, connection_state, connection_error_code, creation_date, settings, sealed_secret, sealed_pending_secret, revision';
  return {
    insert: db.prepare(
      `INSERT INTO custom_key_stores (${cols}) VALUES (@region, @store_id, @account_id, @name, @store_type, @connection_state, @connection_error_code, @creation_date, @settings, @sealed_secret, @sealed_pending_secret, @revision)`,
    ),
    get: db.prepare('SELECT * FROM custom_key_stores WHERE region = ? AND store_id = ?'),
    reserveGcm: db.prepare(
      `INSERT INTO kms_meta (name, value) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)
       RETURNING value`,
    ),
    getByName: db.prepare(
      'SELECT * FROM custom_key_stores WHERE region = ? AND account_id = ? AND name = ?',
    ),
    list: db.prepare(
      'SELECT * FROM custom_key_stores WHERE region = ? AND account_id = ? AND store_id > ? ORDER BY store_id LIMIT ?',
    ),
    listAll: db.prepare('SELECT * FROM custom_key_stores ORDER BY region, store_id'),
    count: db.prepare(
      'SELECT COUNT(*) AS n FROM custom_key_stores WHERE region = ? AND account_id = ?',
    ),
    update: db.prepare(
      `UPDATE custom_key_stores SET name = @name, connection_state = @connection_state,
         connection_error_code = @connection_error_code, settings = @settings,
         sealed_secret = @sealed_secret, sealed_pending_secret = @sealed_pending_secret,
         revision = @next
       WHERE region = @region AND store_id = @store_id AND revision = @revision`,
    ),
    delete: db.prepare('DELETE FROM custom_key_stores WHERE region = ? AND store_id = ?'),
    putBinding: db.prepare(
      'INSERT OR REPLACE INTO custom_key_store_keys (region, key_id, store_id, backing_key_id, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    getBinding: db.prepare('SELECT * FROM custom_key_store_keys WHERE region = ? AND key_id = ?'),
    bindingsOfStore: db.prepare(
      'SELECT * FROM custom_key_store_keys WHERE region = ? AND store_id = ? ORDER BY key_id',
    ),
    bindingsByBacking: db.prepare(
      'SELECT * FROM custom_key_store_keys WHERE region = ? AND store_id = ? AND backing_key_id = ? ORDER BY key_id',
    ),
    // Only bindings whose key still exists count (a binding is written before its key).
    countKeys: db.prepare(
      `SELECT COUNT(*) AS n FROM custom_key_store_keys b
         JOIN keys k ON k.region = b.region AND k.key_id = b.key_id
       WHERE b.region = ? AND b.store_id = ?`,
    ),
    deleteBinding: db.prepare('DELETE FROM custom_key_store_keys WHERE region = ? AND key_id = ?'),
  };
}

function toRow(s: CustomKeyStoreRecord): Row {
  const settings: Settings = {};
  if (s.cloudHsm !== undefined) settings.cloudHsm = s.cloudHsm;
  if (s.xks !== undefined) settings.xks = s.xks;
  return {
    region: s.region,
    store_id: s.customKeyStoreId,
    account_id: s.accountId,
    name: s.name,
    store_type: s.type,
    connection_state: s.connectionState,
    connection_error_code: s.connectionErrorCode ?? null,
    creation_date: s.creationDate.getTime(),
    settings: JSON.stringify(settings),
    sealed_secret: s.sealedSecret,
    sealed_pending_secret: s.sealedPendingSecret ?? null,
    revision: s.revision,
  };
}

function fromRow(r: Row): CustomKeyStoreRecord {
  const settings = JSON.parse(r.settings as string) as Settings;
  return {
    region: r.region as string,
    accountId: r.account_id as string,
    customKeyStoreId: r.store_id as string,
    name: r.name as string,
    type: r.store_type as CustomKeyStoreType,
    connectionState: r.connection_state as ConnectionState,
    connectionErrorCode: (r.connection_error_code as ConnectionErrorCode | null) ?? undefined,
    creationDate: new Date(r.creation_date as number),
    cloudHsm: settings.cloudHsm,
    xks: settings.xks,
    sealedSecret: r.sealed_secret as Buffer,
    sealedPendingSecret: (r.sealed_pending_secret as Buffer | null) ?? undefined,
    revision: r.revision as number,
  };
}

function bindingFromRow(r: Row): CustomKeyStoreKeyRecord {
  return {
    region: r.region as string,
    keyId: r.key_id as string,
    customKeyStoreId: r.store_id as string,
    backingKeyId: r.backing_key_id as string,
    createdAt: new Date(r.created_at as number),
  };
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
