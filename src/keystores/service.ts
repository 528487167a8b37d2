/**
 * The custom key store state machine and the connectors behind it, one per node.
 *
 *   DISCONNECTED --Connect--> CONNECTING --ok--> CONNECTED --Disconnect--> DISCONNECTING --> DISCONNECTED
 *                                  \--fail--> FAILED (ConnectionErrorCode) --Disconnect--> DISCONNECTED
 *
 * ConnectCustomKeyStore / DisconnectCustomKeyStore store the transient state and return at
 * once (AWS: "returns HTTP 200 immediately"); the connector runs in the background here and
 * the final state is written when it finishes. Connections live in this process: after a
 * restart, stores recorded as CONNECTED (or left CONNECTING) are connected again by resume().
 */
import type { Logger } from 'pino';
import type { Hsm } from '../hsm/hsm.js';
import type { Clock } from '../config/clock.js';
import type { Services } from '../kms/context.js';
import type { KeyRecord, Storage } from '../storage/repository.js';
import { ConcurrentUpdateError } from '../storage/repository.js';
import type { KeyStoreConnector } from './connector.js';
import { ConnectorRegistry } from './registry.js';
import { secretLabel, type CustomKeyStoreRecord } from './types.js';

/** How long a node waits before it tries again to join a CONNECTED store it failed to join. */
const JOIN_RETRY_MS = 30_000;

export interface CustomKeyStoreServiceOptions {
  /**
   * Extra time each background transition takes before it completes (tests and demos use it
   * to observe CONNECTING / DISCONNECTING; 0 in production).
   */
  transitionDelayMs?: number;
  logger?: Logger | undefined;
}

export class CustomKeyStoreService {
  readonly connectors = new ConnectorRegistry();
  private readonly running = new Set<Promise<void>>();
  private readonly joining = new Map<string, Promise<boolean>>();
  private readonly joinFailedAt = new Map<string, number>();
  private services: Services | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly hsm: Hsm,
    private readonly clock: Clock,
    private readonly opts: CustomKeyStoreServiceOptions = {},
  ) {}

  /** Services the connectors get (set once the node has built them). */
  bind(services: Services): void {
    this.services = services;
  }

  register(connector: KeyStoreConnector): void {
    this.connectors.register(connector);
  }

  /**
   * A store is CONNECTED but this node holds no connection (another node connected it, or
   * this node restarted): connect locally, without a state change or password rotation.
   * Concurrent callers share one attempt. Resolves to whether the store is usable here;
   * a failure is logged and leaves the shared state alone (other nodes may be fine).
   */
  async ensureLocal(store: CustomKeyStoreRecord): Promise<boolean> {
    const connector = this.connectors.get(store.type);
    const services = this.services;
    if (connector === undefined || services === undefined) return false;
    if (store.connectionState !== 'CONNECTED') {
      // Disconnected elsewhere (another node): drop this node's sessions too. Not while a
      // transition of this node is running (it owns the connection then).
      if (store.connectionState === 'DISCONNECTED' && connector.isConnected(store))
        await connector.disconnect(store);
      return false;
    }
    if (connector.isConnected(store)) return true;
    // A failed join is not retried at once: repeated logins with a bad PIN lock HSM users.
    const failedAt = this.joinFailedAt.get(store.customKeyStoreId);
    if (failedAt !== undefined && Date.now() - failedAt < JOIN_RETRY_MS) return false;
    let attempt = this.joining.get(store.customKeyStoreId);
    if (attempt === undefined) {
      attempt = this.join(store, connector, services)
        .then((ok) => {
          if (ok) this.joinFailedAt.delete(store.customKeyStoreId);
          else this.joinFailedAt.set(store.customKeyStoreId, Date.now());
          return ok;
        })
        .finally(() => this.joining.delete(store.customKeyStoreId));
      this.joining.set(store.customKeyStoreId, attempt);
    }
    return attempt;
  }

  private async join(
    store: CustomKeyStoreRecord,
    connector: KeyStoreConnector,
    services: Services,
  ): Promise<boolean> {
    const secret = this.openSecret(store);
    try {
      const r = await connector.connect(
        services,
        { store, secret },
        { rotate: false, savePendingSecret: async () => undefined },
      );
      if (!r.ok)
        this.opts.logger?.warn(
          { customKeyStoreId: store.customKeyStoreId, connectionErrorCode: r.code },
          'cannot join a CONNECTED custom key store on this node',
        );
      // Disconnected meanwhile (by another request): drop what we just opened.
      const now = await this.storage.customKeyStores.getStore(store.region, store.customKeyStoreId);
      if (r.ok && now?.connectionState !== 'CONNECTED') {
        await connector.disconnect(store);
        return false;
      }
      return r.ok;
    } finally {
      secret.fill(0);
    }
  }

  /** Whether keys of this store can be used now (CONNECTED and connected in this node). */
  isAvailable(store: CustomKeyStoreRecord): boolean {
    if (store.connectionState !== 'CONNECTED') return false;
    return this.connectors.get(store.type)?.isConnected(store) === true;
  }

  sealSecret(storeId: string, secret: Buffer): Buffer {
    return this.hsm.sealSecret(secretLabel(storeId), secret);
  }

  openSecret(store: CustomKeyStoreRecord): Buffer {
    return this.hsm.openSecret(secretLabel(store.customKeyStoreId), store.sealedSecret);
  }

  /** Start connecting a store that the operation has just moved to CONNECTING. */
  startConnect(store: CustomKeyStoreRecord): void {
    this.joinFailedAt.delete(store.customKeyStoreId);
    this.track(this.connect(store));
  }

  /** Start disconnecting a store that the operation has just moved to DISCONNECTING. */
  startDisconnect(store: CustomKeyStoreRecord): void {
    this.track(this.disconnect(store));
  }

  /** Wait until no transition is running (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /**
   * After start: join stores recorded CONNECTED (ensureLocal: no state change, no password
   * rotation, so other nodes' keys stay available); redo an interrupted CONNECTING; finish
   * DISCONNECTING.
   */
  async resume(): Promise<void> {
    for (const store of await this.storage.customKeyStores.listAllStores()) {
      if (store.connectionState === 'CONNECTED') {
        this.track(this.ensureLocal(store).then(() => undefined));
      } else if (store.connectionState === 'CONNECTING') {
        const s = await this.patch(store, (r) => ({ ...r, connectionState: 'CONNECTING' }));
        if (s !== undefined) this.startConnect(s);
      } else if (store.connectionState === 'DISCONNECTING') {
        this.startDisconnect(store);
      }
    }
  }

  /** Drop every live connection (node shutdown); stored states are kept for resume(). */
  async close(): Promise<void> {
    await this.settle();
    for (const store of await this.storage.customKeyStores.listAllStores()) {
      await this.connectors.get(store.type)?.disconnect(store);
    }
  }

  private track(p: Promise<void>): void {
    const done = p
      .catch((err: unknown) =>
        this.opts.logger?.error({ err }, 'custom key store transition failed'),
      )
      .finally(() => this.running.delete(done));
    this.running.add(done);
  }

  private async delay(): Promise<void> {
    const ms = this.opts.transitionDelayMs ?? 0;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  private async connect(store: CustomKeyStoreRecord): Promise<void> {
    await this.delay();
    const connector = this.connectors.get(store.type);
    const services = this.services;
    if (connector === undefined || services === undefined) {
      await this.finish(store, { ok: false, code: 'INTERNAL_ERROR' });
      return;
    }
    const secret = this.openSecret(store);
    const pending =
      store.sealedPendingSecret === undefined
        ? undefined
        : this.hsm.openSecret(secretLabel(store.customKeyStoreId), store.sealedPendingSecret);
    try {
      const result = await connector.connect(
        services,
        { store, secret },
        {
          pendingSecret: pending,
          savePendingSecret: async (next) => {
            const sealed = this.sealSecret(store.customKeyStoreId, next);
            await this.patch(store, (r) => ({ ...r, sealedPendingSecret: sealed }));
          },
        },
      );
      const final = await this.finish(store, result);
      // Disconnected (or deleted) while we were connecting: do not keep the connection.
      if (result.ok && final?.connectionState !== 'CONNECTED') await connector.disconnect(store);
      if (result.ok) result.newSecret?.fill(0);
    } catch (err) {
      this.opts.logger?.error({ err, customKeyStoreId: store.customKeyStoreId }, 'connect failed');
      await this.finish(store, { ok: false, code: 'INTERNAL_ERROR' });
    } finally {
      secret.fill(0);
      pending?.fill(0);
    }
  }

  private async finish(
    store: CustomKeyStoreRecord,
    result: Awaited<ReturnType<KeyStoreConnector['connect']>>,
  ): Promise<CustomKeyStoreRecord | undefined> {
    return this.patch(store, (r) => {
      if (r.connectionState !== 'CONNECTING') return undefined;
      if (!result.ok) {
        return { ...r, connectionState: 'FAILED', connectionErrorCode: result.code };
      }
      return {
        ...r,
        connectionState: 'CONNECTED',
        connectionErrorCode: undefined,
        sealedSecret:
          result.newSecret === undefined
            ? r.sealedSecret
            : this.sealSecret(r.customKeyStoreId, result.newSecret),
        sealedPendingSecret: undefined,
      };
    });
  }

  private async disconnect(store: CustomKeyStoreRecord): Promise<void> {
    await this.delay();
    await this.connectors.get(store.type)?.disconnect(store);
    await this.patch(store, (r) =>
      r.connectionState === 'DISCONNECTING'
        ? { ...r, connectionState: 'DISCONNECTED', connectionErrorCode: undefined }
        : undefined,
    );
  }

  /**
   * Read-modify-write with the revision check, retried on a concurrent update. `fn` returns
   * undefined to leave the record alone. Returns the stored record (or the unchanged one).
   */
  async patch(
    store: Pick<CustomKeyStoreRecord, 'region' | 'customKeyStoreId'>,
    fn: (r: CustomKeyStoreRecord) => CustomKeyStoreRecord | undefined,
  ): Promise<CustomKeyStoreRecord | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = await this.storage.customKeyStores.getStore(
        store.region,
        store.customKeyStoreId,
      );
      if (current === undefined) return undefined;
      const next = fn(current);
      if (next === undefined) return current;
      try {
        return await this.storage.customKeyStores.updateStore(next);
      } catch (err) {
        if (!(err instanceof ConcurrentUpdateError)) throw err;
      }
    }
    throw new ConcurrentUpdateError(`custom key store ${store.customKeyStoreId}`);
  }

  /**
   * Deletion job: remove a deleted key's backing key from its store (CloudHSM: destroy the
   * token object). Best effort; the outcome is logged as AWS records backingKeysDeletionStatus.
   */
  async deleteBackingKey(key: KeyRecord): Promise<'SUCCESS' | 'FAILURE' | 'NOT_APPLICABLE'> {
    const repo = this.storage.customKeyStores;
    const binding = await repo.getKeyBinding(key.region, key.keyId);
    if (binding === undefined) return 'NOT_APPLICABLE';
    const store = await repo.getStore(key.region, binding.customKeyStoreId);
    const connector = store && this.connectors.get(store.type);
    let status: 'SUCCESS' | 'FAILURE' | 'NOT_APPLICABLE' = 'FAILURE';
    if (store !== undefined && connector !== undefined && this.services !== undefined)
      status = await connector
        .deleteKey(this.services, store, key, binding)
        .catch(() => 'FAILURE' as const);
    this.opts.logger?.info(
      {
        keyArn: key.arn,
        customKeyStoreId: binding.customKeyStoreId,
        backingKeyId: binding.backingKeyId,
        deletionStatus: status,
      },
      'custom key store backing key deletion',
    );
    return status;
  }

  now(): Date {
    return this.clock.now();
  }
}
