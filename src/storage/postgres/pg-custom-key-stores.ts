/** PostgreSQL adapter of the custom key store repository (tables from PG migration 3). */
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
import { changes, isUniqueViolation, type PgDb } from './pg-db.js';
import { ms, notify, type Row } from './pg-rows.js';

interface Settings {
  cloudHsm?: CloudHsmSettings;
  xks?: XksProxySettings;
}

const COLUMNS =
  'region, store_id, account_id, name, store_type, connection_state, connection_error_code, creation_date, settings, sealed_secret, sealed_pending_secret, revision';

export class PgCustomKeyStoreRepository implements CustomKeyStoreRepository {
  constructor(readonly db: PgDb) {}

  async createStore(store: CustomKeyStoreRecord): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO custom_key_stores (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        toParams(store),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(`custom key store ${store.name}`);
      throw err;
    }
  }

  async getStore(region: string, id: string): Promise<CustomKeyStoreRecord | undefined> {
    const r = await this.db.query(
      'SELECT * FROM custom_key_stores WHERE region = $1 AND store_id = $2',
      [region, id],
    );
    const row = r.rows[0];
    return row && fromRow(row);
  }

  async getStoreByName(
    region: string,
    accountId: string,
    name: string,
  ): Promise<CustomKeyStoreRecord | undefined> {
    const r = await this.db.query(
      'SELECT * FROM custom_key_stores WHERE region = $1 AND account_id = $2 AND name = $3',
      [region, accountId, name],
    );
    const row = r.rows[0];
    return row && fromRow(row);
  }

  async listStores(
    region: string,
    accountId: string,
    page: PageRequest,
  ): Promise<CustomKeyStoreRecord[]> {
    const r = await this.db.query(
      'SELECT * FROM custom_key_stores WHERE region = $1 AND account_id = $2 AND store_id > $3 ORDER BY store_id LIMIT $4',
      [region, accountId, page.after ?? '', page.limit],
    );
    return r.rows.map(fromRow);
  }

  async listAllStores(): Promise<CustomKeyStoreRecord[]> {
    const r = await this.db.query('SELECT * FROM custom_key_stores ORDER BY region, store_id');
    return r.rows.map(fromRow);
  }

  async countStores(region: string, accountId: string): Promise<number> {
    const r = await this.db.query(
      'SELECT count(*) AS n FROM custom_key_stores WHERE region = $1 AND account_id = $2',
      [region, accountId],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async updateStore(store: CustomKeyStoreRecord): Promise<CustomKeyStoreRecord> {
    let n: number;
    try {
      n = await this.db.tx(async (c) => {
        const r = await c.query(
          `UPDATE custom_key_stores SET name = $3, connection_state = $4, connection_error_code = $5,
             settings = $6, sealed_secret = $7, sealed_pending_secret = $8, revision = $9
           WHERE region = $1 AND store_id = $2 AND revision = $10`,
          [
            store.region,
            store.customKeyStoreId,
            store.name,
            store.connectionState,
            store.connectionErrorCode ?? null,
            settingsJson(store),
            store.sealedSecret,
            store.sealedPendingSecret ?? null,
            store.revision + 1,
            store.revision,
          ],
        );
        if (changes(r) === 1) await notify(c, `cks:${store.region}/${store.customKeyStoreId}`);
        return changes(r);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(`custom key store ${store.name}`);
      throw err;
    }
    if (n !== 1) throw new ConcurrentUpdateError(`custom key store ${store.customKeyStoreId}`);
    return { ...store, revision: store.revision + 1 };
  }

  async reserveGcmInvocations(counterId: string, n: number): Promise<number> {
    const r = await this.db.query<{ value: string }>(
      `INSERT INTO kms_meta (name, value) VALUES ($1, $2::bigint::text)
       ON CONFLICT (name) DO UPDATE SET value = (kms_meta.value::bigint + $2::bigint)::text
       RETURNING value`,
      [`gcm_invocations/${counterId}`, n],
    );
    return Number(r.rows[0]?.value);
  }

  async deleteStore(region: string, id: string): Promise<boolean> {
    const r = await this.db.query(
      'DELETE FROM custom_key_stores WHERE region = $1 AND store_id = $2',
      [region, id],
    );
    return changes(r) === 1;
  }

  async putKeyBinding(b: CustomKeyStoreKeyRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO custom_key_store_keys (region, key_id, store_id, backing_key_id, created_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (region, key_id) DO UPDATE SET store_id = excluded.store_id,
         backing_key_id = excluded.backing_key_id, created_at = excluded.created_at`,
      [b.region, b.keyId, b.customKeyStoreId, b.backingKeyId, b.createdAt.getTime()],
    );
  }

  async getKeyBinding(region: string, keyId: string): Promise<CustomKeyStoreKeyRecord | undefined> {
    const r = await this.db.query(
      'SELECT * FROM custom_key_store_keys WHERE region = $1 AND key_id = $2',
      [region, keyId],
    );
    const row = r.rows[0];
    return row && bindingFromRow(row);
  }

  async findKeyBindings(
    region: string,
    storeId: string,
    backingKeyId?: string,
  ): Promise<CustomKeyStoreKeyRecord[]> {
    const r = await this.db.query(
      `SELECT * FROM custom_key_store_keys WHERE region = $1 AND store_id = $2
         AND ($3::text IS NULL OR backing_key_id = $3) ORDER BY key_id`,
      [region, storeId, backingKeyId ?? null],
    );
    return r.rows.map(bindingFromRow);
  }

  async countKeysInStore(region: string, storeId: string): Promise<number> {
    // Only bindings whose key still exists count (a binding is written before its key).
    const r = await this.db.query(
      `SELECT count(*) AS n FROM custom_key_store_keys b
         JOIN keys k ON k.region = b.region AND k.key_id = b.key_id
       WHERE b.region = $1 AND b.store_id = $2`,
      [region, storeId],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async deleteKeyBinding(region: string, keyId: string): Promise<void> {
    await this.db.query('DELETE FROM custom_key_store_keys WHERE region = $1 AND key_id = $2', [
      region,
      keyId,
    ]);
  }
}

function settingsJson(s: CustomKeyStoreRecord): string {
  const settings: Settings = {};
  if (s.cloudHsm !== undefined) settings.cloudHsm = s.cloudHsm;
  if (s.xks !== undefined) settings.xks = s.xks;
  return JSON.stringify(settings);
}

function toParams(s: CustomKeyStoreRecord): unknown[] {
  return [
    s.region,
    s.customKeyStoreId,
    s.accountId,
    s.name,
    s.type,
    s.connectionState,
    s.connectionErrorCode ?? null,
    s.creationDate.getTime(),
    settingsJson(s),
    s.sealedSecret,
    s.sealedPendingSecret ?? null,
    s.revision,
  ];
}

function fromRow(r: Row): CustomKeyStoreRecord {
  const settings = JSON.parse(String(r.settings)) as Settings;
  return {
    region: String(r.region),
    accountId: String(r.account_id),
    customKeyStoreId: String(r.store_id),
    name: String(r.name),
    type: r.store_type as CustomKeyStoreType,
    connectionState: r.connection_state as ConnectionState,
    connectionErrorCode: (r.connection_error_code as ConnectionErrorCode | null) ?? undefined,
    creationDate: ms(r.creation_date),
    cloudHsm: settings.cloudHsm,
    xks: settings.xks,
    sealedSecret: r.sealed_secret as Buffer,
    sealedPendingSecret: (r.sealed_pending_secret as Buffer | null) ?? undefined,
    revision: Number(r.revision),
  };
}

function bindingFromRow(r: Row): CustomKeyStoreKeyRecord {
  return {
    region: String(r.region),
    keyId: String(r.key_id),
    customKeyStoreId: String(r.store_id),
    backingKeyId: String(r.backing_key_id),
    createdAt: ms(r.created_at),
  };
}
