/**
 * Domain keys at rest: storage holds them wrapped under the root key, the HSM holds them
 * unwrapped (hsm/domain-keys.ts, pure). This module is the only one that moves wrapped
 * records between the two: load at start (and create the first one on a new store), reload
 * when another node rotated, rotate (the HSM makes the key, storage keeps it, then the HSM
 * loads the new list) and drop. Calls on one node run one at a time, so a reload that read
 * the list before a rotation of this node never applies after it.
 */
import type { DomainKeyStatus, Hsm } from '../../hsm/hsm.js';
import type { DomainKeyRepository, Storage } from '../../storage/repository.js';

export class DomainKeys {
  readonly #repo: DomainKeyRepository;
  readonly #hsm: Hsm;
  #queue: Promise<unknown> = Promise.resolve();
  /** A reload queued and not yet started: later reload requests join it. */
  #queuedReload: Promise<void> | undefined;

  private constructor(repo: DomainKeyRepository, hsm: Hsm) {
    this.#repo = repo;
    this.#hsm = hsm;
  }

  /**
   * Load every stored domain key into the HSM; create the first one on a new store.
   * RootKeyMismatchError when the root key does not unwrap them.
   */
  static async open(repo: DomainKeyRepository, hsm: Hsm, now: Date): Promise<DomainKeys> {
    const keys = new DomainKeys(repo, hsm);
    await keys.reload();
    if (hsm.domainKeyStatus().activeId === undefined) await keys.rotate(now);
    return keys;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Re-read the domain keys from storage (another node may have rotated or dropped one). */
  reload(): Promise<void> {
    this.#queuedReload ??= this.#serial(async () => {
      this.#queuedReload = undefined;
      this.#hsm.loadDomainKeys(await this.#repo.listDomainKeys());
    });
    return this.#queuedReload;
  }

  /** Reload when an EKT names a domain key this node has not loaded yet. */
  async ensureLoaded(domainKeyIds: readonly string[]): Promise<void> {
    if (domainKeyIds.some((id) => !this.#hsm.hasDomainKey(id))) await this.reload();
  }

  /** Make a new active domain key; returns its id. */
  rotate(now: Date): Promise<string> {
    return this.#serial(async () => {
      const record = this.#hsm.rotateDomainKey(now);
      await this.#repo.addActiveDomainKey(record);
      this.#hsm.loadDomainKeys(await this.#repo.listDomainKeys());
      return record.id;
    });
  }

  /** Forget an old domain key once nothing refers to it (storage first, then the HSM). */
  drop(id: string): Promise<void> {
    return this.#serial(async () => {
      if (id === this.#hsm.domainKeyStatus().activeId)
        throw new Error('cannot drop the active domain key');
      await this.#repo.deleteDomainKey(id);
      this.#hsm.dropDomainKey(id);
    });
  }

  status(): DomainKeyStatus {
    return this.#hsm.domainKeyStatus();
  }
}

/**
 * Storage for a node whose domain keys other nodes or workers may rotate: a key version
 * wrapped under a domain key this node has not loaded was made after a rotation elsewhere,
 * so the domain keys are reloaded before the version is handed out (the invalidation
 * usually got there first; this closes the race). Applied once at wiring time, after the
 * domain keys are loaded.
 */
export function withDomainKeysLoaded(inner: Storage, keys: DomainKeys): Storage {
  const overrides: Partial<Storage> = {
    async getKeyVersion(region, keyId, versionId) {
      const v = await inner.getKeyVersion(region, keyId, versionId);
      if (v !== undefined) await keys.ensureLoaded([v.domainKeyId]);
      return v;
    },
    async listKeyVersions(region, keyId) {
      const vs = await inner.listKeyVersions(region, keyId);
      await keys.ensureLoaded(vs.map((v) => v.domainKeyId));
      return vs;
    },
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const own = (overrides as Record<PropertyKey, unknown>)[prop];
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(target, prop, receiver);
      // Class methods use private fields: call them on the real instance.
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
