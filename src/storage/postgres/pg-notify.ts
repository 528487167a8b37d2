/**
 * Cross-node cache invalidation over LISTEN/NOTIFY. Writers queue `pg_notify` in the
 * transaction that changes the data (delivered at commit, so a node never re-reads the
 * old row after the message); every node keeps one dedicated connection listening.
 *
 * Payloads: `k:<region>/<keyId>` (key record or versions), `g:<region>/<keyId>` (grants),
 * `iam` (identity policies, users, roles), `ak:<accessKeyId>` (a credential), `dk`
 * (domain keys). When the listening connection drops, messages may have been missed: on
 * reconnect the node forgets everything (`all`). While it is down, the caches' TTLs
 * (1 s for key records and identity policies) bound staleness.
 */
import pg from 'pg';
import {
  InvalidationFanout,
  parseInvalidation,
  type Invalidation,
  type InvalidationChannel,
} from '../invalidation.js';
import type { PgDb } from './pg-db.js';
import { INVALIDATE_CHANNEL } from './pg-rows.js';

export { parseInvalidation, type Invalidation };

export class PgInvalidationListener implements InvalidationChannel {
  readonly #db: PgDb;
  readonly #fanout = new InvalidationFanout();
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  /** True while the LISTEN connection is up. */
  connected = false;

  constructor(db: PgDb) {
    this.#db = db;
  }

  subscribe(fn: (m: Invalidation) => void): void {
    this.#fanout.subscribe(fn);
  }

  #emit(m: Invalidation): void {
    this.#fanout.emit(m);
  }

  /** NOTIFY is pushed to us: nothing to pull. */
  catchUp(): void {}

  get live(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    const host = await this.#db.findPrimary();
    const client = new pg.Client(this.#db.clientConfig(host));
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      this.connected = false;
      void client.end().catch(() => undefined);
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (n) => {
      if (n.channel !== INVALIDATE_CHANNEL || n.payload === undefined) return;
      const m = parseInvalidation(n.payload);
      if (m !== undefined) this.#emit(m);
    });
    await client.connect();
    await client.query(`LISTEN ${INVALIDATE_CHANNEL}`);
    if (this.#closed) {
      await client.end();
      return;
    }
    this.#client = client;
    this.connected = true;
    // Whatever changed while we were not listening is unknown: forget it all.
    this.#emit({ kind: 'all' });
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.start().catch(() => this.#scheduleReconnect());
    }, 250);
    this.#retry.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    const c = this.#client;
    this.#client = undefined;
    this.connected = false;
    await c?.end().catch(() => undefined);
  }
}
