/**
 * Domain keys: AES-256 keys wrapped by the root key, one active at a time, rotated on a
 * schedule (daily by default). Older domain keys stay until no EKT refers to them; the
 * rewrap job moves EKTs to the active key and then drops the old ones.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { DomainKeyRepository, DomainKeyRecord } from '../storage/repository.js';
import { openGcm, sealGcm } from './aead.js';
import { SecretBytes } from './secret-bytes.js';

export class RootKeyMismatchError extends Error {
  constructor() {
    super('the root key does not unwrap the stored domain keys (wrong passphrase or key file?)');
    this.name = 'RootKeyMismatchError';
  }
}

export class DomainKeyring {
  readonly #wrapKey: SecretBytes;
  readonly #repo: DomainKeyRepository;
  #keys = new Map<string, SecretBytes>();
  #active: { id: string; createdAt: Date } | undefined;

  private constructor(repo: DomainKeyRepository, wrapKey: SecretBytes) {
    this.#repo = repo;
    this.#wrapKey = wrapKey;
  }

  /** Load and unwrap every domain key; create the first one on a new store. */
  static async open(
    repo: DomainKeyRepository,
    wrapKey: SecretBytes,
    now: Date,
  ): Promise<DomainKeyring> {
    const ring = new DomainKeyring(repo, wrapKey);
    await ring.reload();
    if (ring.#active === undefined) await ring.rotate(now);
    return ring;
  }

  /** Re-read domain keys from storage (another node may have rotated). */
  async reload(): Promise<void> {
    const before = new Set(this.#keys.keys());
    const records = await this.#repo.listDomainKeys();
    const next = new Map<string, SecretBytes>();
    let active: { id: string; createdAt: Date } | undefined;
    for (const r of records) {
      next.set(r.id, this.#keys.get(r.id) ?? this.#unwrap(r));
      if (r.active) active = { id: r.id, createdAt: r.createdAt };
    }
    for (const [id, key] of this.#keys) {
      if (next.has(id)) continue;
      // Rotated here while the list was read: keep it (it is in storage by now).
      if (!before.has(id)) next.set(id, key);
      // Dropped by another node: nothing refers to it any more; do not leave it in memory.
      else key.zeroize();
    }
    const rotatedMeanwhile =
      this.#active !== undefined && !before.has(this.#active.id) ? this.#active : undefined;
    this.#keys = next;
    this.#active = rotatedMeanwhile ?? active;
  }

  #unwrap(r: DomainKeyRecord): SecretBytes {
    try {
      return new SecretBytes(openGcm(this.#wrapKey.bytes, r.wrapped, aadFor(r.id)));
    } catch {
      throw new RootKeyMismatchError();
    }
  }

  get activeId(): string {
    if (this.#active === undefined) throw new Error('no active domain key');
    return this.#active.id;
  }

  get activeCreatedAt(): Date {
    if (this.#active === undefined) throw new Error('no active domain key');
    return this.#active.createdAt;
  }

  /** The plaintext domain key; for hsm/ only. */
  key(id: string): SecretBytes | undefined {
    return this.#keys.get(id);
  }

  ids(): string[] {
    return [...this.#keys.keys()];
  }

  /** Generate a new active domain key. */
  async rotate(now: Date): Promise<string> {
    const id = `dk-${randomUUID()}`;
    const key = randomBytes(32);
    const wrapped = sealGcm(this.#wrapKey.bytes, key, aadFor(id));
    await this.#repo.addActiveDomainKey({ id, wrapped, createdAt: now, active: true });
    this.#keys.set(id, new SecretBytes(key));
    this.#active = { id, createdAt: now };
    return id;
  }

  /** Forget an old domain key once nothing refers to it. */
  async drop(id: string): Promise<void> {
    if (id === this.#active?.id) throw new Error('cannot drop the active domain key');
    await this.#repo.deleteDomainKey(id);
    this.#keys.get(id)?.zeroize();
    this.#keys.delete(id);
  }
}

/**
 * Check a root key's wrap key against the stored domain keys without loading a keyring
 * (offline tools); returns how many were checked, RootKeyMismatchError when one fails.
 */
export async function verifyDomainKeys(
  repo: DomainKeyRepository,
  wrapKey: SecretBytes,
): Promise<number> {
  const records = await repo.listDomainKeys();
  for (const r of records) {
    try {
      openGcm(wrapKey.bytes, r.wrapped, aadFor(r.id)).fill(0);
    } catch {
      throw new RootKeyMismatchError();
    }
  }
  return records.length;
}

function aadFor(id: string): Buffer {
  return Buffer.from(`keyhold/domain-key/v1/${id}`, 'utf8');
}
