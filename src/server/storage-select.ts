/**
 * Storage selection for a node: SQLite in the data dir (the embedded default), or
 * PostgreSQL when a `postgres://` storage URL is configured. Everything that differs
 * between one node and a fleet lives here: where the audit chain goes, how the root
 * key's passphrase salt is shared, cross-node cache invalidation, job leases, and the
 * readiness checks.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { loadRootKey, openRootKey, type LoadedRootKey } from '../hsm/root-key.js';
import type { RootWrapStore } from '../hsm/root-passphrase.js';
import { DEFAULT_KEY_CACHE, withKeyCache } from '../storage/key-cache.js';
import type { AuditAnchorStore } from '../audit/anchor.js';
import type { AuditRepository, Storage } from '../storage/repository.js';
import { PgAuditAnchors } from '../storage/postgres/pg-audit-anchors.js';
import { PgAuditRepository } from '../storage/postgres/pg-audit.js';
import type { Invalidation, InvalidationChannel } from '../storage/invalidation.js';
import { PgInvalidationListener } from '../storage/postgres/pg-notify.js';
import { PostgresStorage } from '../storage/postgres/pg-storage.js';
import { SqliteAuditAnchors } from '../storage/sqlite/sqlite-audit-anchors.js';
import { SqliteStorage } from '../storage/sqlite/sqlite-storage.js';
import { ThreadedAuditRepository } from '../storage/sqlite/threaded-audit-repository.js';

/** How long the background-jobs lease lasts without renewal (another node takes over after). */
export const JOB_LEASE_TTL_MS = 90_000;
const JOB_LEASE = 'background-jobs';

export interface ReadyCheck {
  ok: boolean;
  checks: Record<string, string>;
}

export interface NodeStorage {
  kind: 'sqlite' | 'postgres';
  nodeId: string;
  /** The cached Storage every part of the node uses. */
  storage: Storage;
  /** The root key: a passphrase (salt shared through storage in PostgreSQL mode) or a key file. */
  loadRootKey(passphrase: string | undefined): Promise<LoadedRootKey>;
  openAudit(): AuditRepository & { close(): Promise<void> };
  /** The audit chains' anchors, in the main database (keyhold.db or the PostgreSQL store). */
  auditAnchors: AuditAnchorStore;
  /** Serialise first-start work (first domain key, first access key) across nodes. */
  bootstrap<T>(fn: () => Promise<T>): Promise<T>;
  /** Run the background jobs if this node holds the fleet's job lease; true when it ran. */
  runExclusive(fn: () => Promise<void>): Promise<boolean>;
  /** Changes made by other processes or nodes (and, in SQLite mode, by this one). */
  onInvalidate(fn: (m: Invalidation) => void): void;
  /** The channel itself: callers catch up on it before trusting cached credentials. */
  invalidations: InvalidationChannel;
  ready(audit: AuditRepository): Promise<ReadyCheck>;
  close(): Promise<void>;
}

/** The node id: configured, or generated once into the data dir (so it survives restarts). */
export function nodeIdFor(config: Readonly<Config>): string {
  if (config.nodeId !== undefined) return config.nodeId;
  const path = join(config.dataDir, 'node-id');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const id = `${hostname()
    .replace(/[^A-Za-z0-9.-]/g, '-')
    .slice(0, 30)}-${randomUUID().slice(0, 8)}`;
  writeFileSync(path, id + '\n', { mode: 0o600 });
  return id;
}

/**
 * The audit chain (and job-lease owner) of worker `id` of a node whose own id is `base`:
 * worker 1, and a process without workers, keep `base`, so a data dir or a PostgreSQL
 * node that grows or shrinks its worker count keeps its existing chain.
 */
export function workerChainId(base: string, workerId: number | undefined): string {
  return workerId === undefined || workerId === 1 ? base : `${base}-w${workerId}`;
}

/** The SQLite audit file of a chain: `audit.db` for `local`, `audit-w<N>.db` for `local-w<N>`. */
export function sqliteAuditFile(chainId: string): string | undefined {
  if (chainId === SQLITE_CHAIN) return 'audit.db';
  const m = /^local-w([1-9]\d{0,2})$/.exec(chainId);
  return m === null ? undefined : `audit-w${m[1]}.db`;
}

/** The chain id of a SQLite audit file name (the inverse of sqliteAuditFile). */
export function sqliteChainOfFile(file: string): string | undefined {
  if (file === 'audit.db') return SQLITE_CHAIN;
  const m = /^audit-w([1-9]\d{0,2})\.db$/.exec(file);
  return m === null ? undefined : `${SQLITE_CHAIN}-w${m[1]}`;
}

const SQLITE_CHAIN = 'local';

export async function openNodeStorage(config: Readonly<Config>): Promise<NodeStorage> {
  return config.storageUrl === undefined ? openSqlite(config) : openPostgres(config);
}

function openSqlite(config: Readonly<Config>): NodeStorage {
  const inner = new SqliteStorage(join(config.dataDir, 'keyhold.db'));
  // Every read and write of keys goes through the cache, so this node's own writes invalidate it;
  // the change log carries what other processes on the same file changed.
  const storage = withKeyCache(inner, { ...DEFAULT_KEY_CACHE, invalidations: inner.changes });
  // Workers of one node: one chain (and audit file) each; worker 1 keeps `local`/audit.db.
  const chainId = workerChainId(SQLITE_CHAIN, config.workerId);
  const anchors = new SqliteAuditAnchors(inner.db);
  return {
    kind: 'sqlite',
    nodeId: chainId,
    storage,
    loadRootKey: (passphrase) => openRootKey({ dataDir: config.dataDir, passphrase }),
    openAudit: () =>
      new ThreadedAuditRepository(join(config.dataDir, sqliteAuditFile(chainId) as string)),
    // A worker's own chain is new in a data dir with history: that is no deleted log (its
    // anchor, once written, catches a deleted audit-w<N>.db).
    auditAnchors: chainId === SQLITE_CHAIN ? anchors : newChainAnchors(anchors),
    bootstrap: (fn) => fn(),
    // Several workers share keyhold.db: one at a time runs the jobs (PostgreSQL's contract).
    runExclusive: (fn) => inner.leases.runExclusive(JOB_LEASE, chainId, JOB_LEASE_TTL_MS, fn),
    onInvalidate: (fn) => inner.changes.subscribe(fn),
    invalidations: inner.changes,
    ready: async (audit) => {
      const checks: Record<string, string> = {};
      let ok = true;
      try {
        inner.db.prepare('SELECT 1').get();
        checks.storage = 'ok';
      } catch (err) {
        ok = false;
        checks.storage = (err as Error).message;
      }
      const healthy = (audit as { healthy?: boolean }).healthy;
      checks.audit = healthy === false ? 'audit writer failed' : 'ok';
      if (healthy === false) ok = false;
      return { ok, checks };
    },
    close: async () => {
      try {
        inner.leases.release(JOB_LEASE, chainId);
      } catch {
        // Busy or closed: the lease expires on its own.
      }
      await inner.close();
    },
  };
}

/** An anchor store whose chain may legitimately start empty in a data dir with history. */
export function newChainAnchors(store: AuditAnchorStore): AuditAnchorStore {
  return {
    getAnchor: (id) => store.getAnchor(id),
    putAnchor: (id, a) => store.putAnchor(id, a),
    listAnchoredChains: () => store.listAnchoredChains(),
    hasHistory: async () => false,
  };
}

async function openPostgres(config: Readonly<Config>): Promise<NodeStorage> {
  const nodeId = workerChainId(nodeIdFor(config), config.workerId);
  const pg = await PostgresStorage.open(config.storageUrl as string);
  const listener = new PgInvalidationListener(pg.db);
  try {
    await listener.start();
  } catch (err) {
    await pg.close();
    throw err;
  }
  const storage = withKeyCache(pg, { ...DEFAULT_KEY_CACHE, invalidations: listener });
  return {
    kind: 'postgres',
    nodeId,
    storage,
    async loadRootKey(passphrase) {
      if (passphrase !== undefined && passphrase !== '') {
        // Every node must open the same root key from the same passphrase: its wrapping is in storage.
        return openRootKey({ dataDir: config.dataDir, passphrase, store: pgWrapStore(pg) });
      }
      // A key file: generated only for a new store; later nodes must be given the same file.
      const fresh = (await pg.listDomainKeys()).length === 0;
      if (!fresh && !existsSync(join(config.dataDir, 'root.key'))) {
        throw new Error(
          `no root key: this PostgreSQL store already has domain keys; copy root.key from an existing node into ${config.dataDir} or set KEYHOLD_ROOT_PASSPHRASE`,
        );
      }
      return loadRootKey({ dataDir: config.dataDir, create: fresh });
    },
    openAudit: () => {
      const repo = new PgAuditRepository(pg.db, nodeId);
      return Object.assign(repo, { close: async () => undefined });
    },
    auditAnchors: new PgAuditAnchors(pg.db),
    bootstrap: (fn) => pg.withBootstrapLock(fn),
    runExclusive: (fn) => pg.leases.runExclusive(JOB_LEASE, nodeId, JOB_LEASE_TTL_MS, fn),
    onInvalidate: (fn) => listener.subscribe(fn),
    invalidations: listener,
    ready: async () => {
      const checks: Record<string, string> = {};
      let ok = true;
      try {
        const r = await pg.db.query('SELECT pg_is_in_recovery() AS ro');
        const ro = r.rows[0]?.ro === true;
        checks.storage = ro ? 'connected to a read-only standby' : 'ok';
        if (ro) ok = false;
      } catch (err) {
        ok = false;
        checks.storage = `unreachable: ${(err as Error).message}`;
      }
      checks.migrations = pg.migrated ? 'ok' : 'pending';
      if (!pg.migrated) ok = false;
      if (ok) {
        try {
          // The audit chain head of this node must be lockable (the append path).
          await pg.db.tx((c) =>
            c.query('SELECT 1 FROM audit_heads WHERE chain_id = $1 FOR UPDATE NOWAIT', [nodeId]),
          );
          checks.audit = 'ok';
        } catch (err) {
          // A lock held by an append in flight is fine; anything else is not.
          const busy = (err as { code?: string }).code === '55P03';
          checks.audit = busy ? 'ok' : (err as Error).message;
          if (!busy) ok = false;
        }
      } else {
        checks.audit = 'storage not ready';
      }
      checks.invalidation = listener.connected ? 'listening' : 'reconnecting (TTL fallback)';
      return { ok, checks };
    },
    close: async () => {
      await pg.leases.release(JOB_LEASE, nodeId).catch(() => undefined);
      await listener.close();
      await pg.close();
    },
  };
}

/** The root key's passphrase wrapping in kms_meta (legacy deployments: the bare salt). */
export function pgWrapStore(pg: PostgresStorage): RootWrapStore {
  return {
    where: 'kms_meta root_key_wrapped',
    readWrapped: () => pg.getMeta('root_key_wrapped'),
    createWrapped: (value) => pg.getOrCreateMeta('root_key_wrapped', value),
    replaceWrapped: (value) => pg.setMeta('root_key_wrapped', value),
    readLegacySalt: () => pg.getMeta('root_salt'),
    removeLegacySalt: () => pg.deleteMeta('root_salt'),
  };
}
