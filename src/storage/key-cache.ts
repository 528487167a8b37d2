/**
 * A read-through cache of key records and key versions in front of a Storage — the two
 * reads every cryptographic request makes. Bounded, short-lived, and invalidated by every
 * write that goes through it; the TTL bounds how long a change made on another node (a
 * shared database) can take to be seen here.
 */
import type { IamRepository } from './iam-repository.js';
import type { KeyRecord, KeyVersionRecord, Storage } from './repository.js';
import type { RotateKeyInput } from './rotation-repository.js';

export interface KeyCacheOptions {
  /** How long a key record may be served from memory (ms). */
  keyTtlMs: number;
  /** How long a key version (immutable but for EKT rewrap) may be served from memory (ms). */
  versionTtlMs: number;
  maxEntries: number;
  now?: () => number;
  /**
   * Changes made by other nodes (PostgreSQL LISTEN/NOTIFY): the cache forgets what they
   * name at once; the TTLs above stay the safety net when messages are lost.
   */
  invalidations?: InvalidationSource | undefined;
}

/** A message that cached data changed elsewhere (kinds this cache does not hold are ignored). */
export type CacheInvalidation =
  | { kind: 'key'; region: string; keyId: string }
  | { kind: 'iam' }
  | { kind: 'domain-keys' }
  | { kind: 'all' }
  | { kind: string };

export interface InvalidationSource {
  subscribe(fn: (m: CacheInvalidation) => void): void;
  /** Pull-based channels (SQLite change log) deliver pending messages when asked. */
  catchUp?(): void;
}

export const DEFAULT_KEY_CACHE: KeyCacheOptions = {
  keyTtlMs: 1000,
  versionTtlMs: 60_000,
  maxEntries: 10_000,
};

class TtlMap<V> {
  readonly #map = new Map<string, { value: V; expires: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  get(k: string): V | undefined {
    const e = this.#map.get(k);
    if (e === undefined) return undefined;
    if (e.expires <= this.now()) {
      this.#map.delete(k);
      return undefined;
    }
    return e.value;
  }

  set(k: string, value: V): void {
    if (this.#map.size >= this.max) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
    this.#map.set(k, { value, expires: this.now() + this.ttlMs });
  }

  delete(k: string): void {
    this.#map.delete(k);
  }

  clear(): void {
    this.#map.clear();
  }

  deletePrefix(prefix: string): void {
    for (const k of this.#map.keys()) if (k.startsWith(prefix)) this.#map.delete(k);
  }
}

/** Wrap a Storage so that getKey / getKeyVersion are served from memory when fresh. */
export function withKeyCache(inner: Storage, opts: KeyCacheOptions = DEFAULT_KEY_CACHE): Storage {
  const now = opts.now ?? Date.now;
  const catchUp = () => opts.invalidations?.catchUp?.();
  const keys = new TtlMap<KeyRecord>(opts.keyTtlMs, opts.maxEntries, now);
  const versions = new TtlMap<KeyVersionRecord>(opts.versionTtlMs, opts.maxEntries, now);
  const kk = (region: string, keyId: string) => `${region}/${keyId}`;
  const vk = (region: string, keyId: string, versionId: string) =>
    `${region}/${keyId}/${versionId}`;
  const forget = (region: string, keyId: string) => {
    keys.delete(kk(region, keyId));
    versions.deletePrefix(`${kk(region, keyId)}/`);
  };

  // Rotation changes a key's current version: forget the key before and after.
  const rotateKey = async (input: RotateKeyInput) => {
    keys.delete(kk(input.key.region, input.key.keyId));
    try {
      return await inner.rotation.rotateKey(input);
    } finally {
      keys.delete(kk(input.key.region, input.key.keyId));
    }
  };
  const rotation = new Proxy(inner.rotation, {
    get(target, prop, receiver) {
      if (prop === 'rotateKey') return rotateKey;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });

  // Import, deletion of and rotation to imported material change a key's versions and current
  // version.
  const importing = new Set([
    'completeImport',
    'deleteImportedMaterial',
    'rotateToImportedMaterial',
  ]);
  const imports = new Proxy(inner.imports, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => Promise<unknown>).bind(target);
      if (typeof prop !== 'string' || !importing.has(prop)) return fn;
      return async (first: { key?: KeyRecord } | KeyRecord, ...rest: unknown[]) => {
        const key = 'key' in first && first.key !== undefined ? first.key : (first as KeyRecord);
        forget(key.region, key.keyId);
        try {
          return await fn(first, ...rest);
        } finally {
          forget(key.region, key.keyId);
        }
      };
    },
  });

  const cached: { -readonly [K in keyof Storage]?: Storage[K] } = {
    rotation,
    imports,
    async getKey(region, keyId) {
      catchUp();
      const hit = keys.get(kk(region, keyId));
      if (hit !== undefined) return hit;
      const key = await inner.getKey(region, keyId);
      // Frozen: a caller that mutates a shared record is a bug, and fails loudly.
      if (key !== undefined) keys.set(kk(region, keyId), Object.freeze(key));
      return key;
    },
    async getKeyVersion(region, keyId, versionId) {
      const hit = versions.get(vk(region, keyId, versionId));
      if (hit !== undefined) return hit;
      const v = await inner.getKeyVersion(region, keyId, versionId);
      if (v !== undefined) versions.set(vk(region, keyId, versionId), Object.freeze(v));
      return v;
    },
    async createKey(key, version, tags) {
      forget(key.region, key.keyId);
      await inner.createKey(key, version, tags);
    },
    async updateKey(key) {
      keys.delete(kk(key.region, key.keyId));
      try {
        return await inner.updateKey(key);
      } finally {
        keys.delete(kk(key.region, key.keyId));
      }
    },
    async deleteKey(region, keyId) {
      forget(region, keyId);
      await inner.deleteKey(region, keyId);
      forget(region, keyId);
    },
    async addKeyVersion(version) {
      versions.delete(vk(version.region, version.keyId, version.versionId));
      await inner.addKeyVersion(version);
    },
    async replaceEkt(version, previousDomainKeyId) {
      const done = await inner.replaceEkt(version, previousDomainKeyId);
      versions.delete(vk(version.region, version.keyId, version.versionId));
      return done;
    },
  };
  const iamCache = withIdentityPolicyCache(inner.iam, opts.keyTtlMs, opts.maxEntries, now, catchUp);
  cached.iam = iamCache.repo;
  opts.invalidations?.subscribe((m) => {
    if (m.kind === 'key' && 'keyId' in m) forget(m.region, m.keyId);
    else if (m.kind === 'iam') iamCache.clear();
    else if (m.kind === 'domain-keys') versions.clear();
    else if (m.kind === 'all') {
      keys.clear();
      versions.clear();
      iamCache.clear();
    }
  });
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const own = (cached as Record<PropertyKey, unknown>)[prop];
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(target, prop, receiver);
      // Class methods use private fields: call them on the real instance.
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/**
 * Identity policies are read on every authorization of a non-root caller: serve them from
 * memory for at most `ttlMs`, and forget them all on any policy, user or role change made
 * through this node.
 */
function withIdentityPolicyCache(
  inner: IamRepository,
  ttlMs: number,
  max: number,
  now: () => number,
  catchUp: () => void,
): { repo: IamRepository; clear: () => void } {
  const policies = new TtlMap<string[]>(ttlMs, max, now);
  const clear = () => policies.clear();
  const invalidating = new Set([
    'putPolicy',
    'deletePolicy',
    'deleteUser',
    'deleteRole',
    'updateRole',
    'createUser',
    'createRole',
  ]);
  const overrides: Partial<IamRepository> = {
    async getIdentityPolicies(p) {
      catchUp();
      const k = `${p.arn}|${p.roleArn ?? ''}`;
      const hit = policies.get(k);
      if (hit !== undefined) return hit;
      const texts = await inner.getIdentityPolicies(p);
      policies.set(k, Object.freeze([...texts]) as string[]);
      return texts;
    },
  };
  const repo = new Proxy(inner, {
    get(target, prop, receiver) {
      const own = (overrides as Record<PropertyKey, unknown>)[prop];
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (typeof prop === 'string' && invalidating.has(prop)) {
        return async (...args: unknown[]) => {
          clear();
          try {
            return await fn(...args);
          } finally {
            clear();
          }
        };
      }
      return fn;
    },
  });
  return { repo, clear };
}
