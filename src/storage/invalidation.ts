/**
 * The invalidation channel: how a process learns that data it may have cached was changed
 * by another process or node. Writers record a message in the transaction that changes the
 * data (PostgreSQL: `pg_notify`, delivered at commit; SQLite: a `change_log` row), and
 * every process delivers the messages to its caches before it authenticates or authorizes
 * again. Revocation (a deleted user, role, access key) never waits for a TTL.
 *
 * Payloads (text, shared by both adapters): `k:<region>/<keyId>` (key record or versions),
 * `g:<region>/<keyId>` (grants), `iam` (identity policies, users, roles), `ak:<accessKeyId>`
 * (one credential: an access key or an STS session), `dk` (domain keys). `all` is never
 * sent: a receiver emits it to itself when it may have missed messages.
 */

export type Invalidation =
  | { kind: 'key'; region: string; keyId: string }
  | { kind: 'grant'; region: string; keyId: string }
  | { kind: 'iam' }
  | { kind: 'access-key'; accessKeyId: string }
  | { kind: 'domain-keys' }
  | { kind: 'all' };

export function parseInvalidation(payload: string): Invalidation | undefined {
  if (payload === 'iam') return { kind: 'iam' };
  if (payload === 'dk') return { kind: 'domain-keys' };
  if (payload.startsWith('ak:')) return { kind: 'access-key', accessKeyId: payload.slice(3) };
  const m = /^([kg]):([^/]+)\/(.+)$/.exec(payload);
  if (m === null) return undefined;
  const [, t, region = '', keyId = ''] = m;
  return { kind: t === 'k' ? 'key' : 'grant', region, keyId };
}

export interface InvalidationChannel {
  /** Called with every message, in commit order. */
  subscribe(fn: (m: Invalidation) => void): void;
  /**
   * Deliver what other processes committed since the last call, before a decision that
   * depends on cached data. Push-based channels (NOTIFY) deliver on their own: a no-op.
   */
  catchUp(): void;
  /**
   * False while messages may be lost (the PostgreSQL LISTEN connection is down): callers
   * then confirm credentials against storage instead of trusting their cache.
   */
  readonly live: boolean;
}

/** Fan a message out to handlers; one failing handler must not stop the others. */
export class InvalidationFanout {
  readonly #handlers: Array<(m: Invalidation) => void> = [];

  subscribe(fn: (m: Invalidation) => void): void {
    this.#handlers.push(fn);
  }

  emit(m: Invalidation): void {
    for (const h of this.#handlers) {
      try {
        h(m);
      } catch {
        // Keep delivering to the others.
      }
    }
  }
}
