/**
 * Domain keys: AES-256 keys wrapped by the root key, one active at a time, rotated on a
 * schedule (daily by default). Older domain keys stay until no EKT refers to them; the
 * rewrap job moves EKTs to the active key and then drops the old ones.
 *
 * The keyring is pure: it does no I/O. It is loaded from wrapped records (what storage
 * holds, read by kms/crypto/domain-keys.ts), a rotation returns the wrapped record to persist,
 * and the plaintext domain keys never leave it: the HSM seals and opens EKTs through it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { openGcm, sealGcm } from './aead.js';
import { HsmError } from './hsm-error.js';
import type { DomainKeyStatus, WrappedDomainKey } from './hsm.js';
import { SecretBytes } from './secret-bytes.js';

export class RootKeyMismatchError extends Error {
  constructor() {
    super('the root key does not unwrap the stored domain keys (wrong passphrase or key file?)');
    this.name = 'RootKeyMismatchError';
  }
}

export class DomainKeyring {
  readonly #wrapKey: SecretBytes;
  #keys = new Map<string, SecretBytes>();
  /** Made by rotate() and not yet seen in a loaded list (not usable until persisted and loaded). */
  #pending = new Map<string, SecretBytes>();
  #active: { id: string; createdAt: Date } | undefined;

  constructor(wrapKey: SecretBytes) {
    this.#wrapKey = wrapKey;
  }

  /**
   * Make the loaded set exactly `records` (the stored domain keys): keys already loaded are
   * kept, new ones unwrapped (RootKeyMismatchError when the root key does not unwrap one),
   * and keys no longer listed (dropped by another node) or pending and not listed are zeroed.
   * Nothing changes when a record fails to unwrap.
   */
  load(records: readonly WrappedDomainKey[]): void {
    const next = new Map<string, SecretBytes>();
    let active: { id: string; createdAt: Date } | undefined;
    try {
      for (const r of records) {
        next.set(r.id, this.#keys.get(r.id) ?? this.#pending.get(r.id) ?? this.#unwrap(r));
        if (r.active) active = { id: r.id, createdAt: r.createdAt };
      }
    } catch (err) {
      for (const [id, key] of next)
        if (!this.#keys.has(id) && !this.#pending.has(id)) key.zeroize();
      throw err;
    }
    for (const [id, key] of [...this.#keys, ...this.#pending]) if (!next.has(id)) key.zeroize();
    this.#keys = next;
    this.#pending = new Map();
    this.#active = active;
  }

  #unwrap(r: WrappedDomainKey): SecretBytes {
    try {
      return new SecretBytes(openGcm(this.#wrapKey.bytes, r.wrapped, aadFor(r.id)));
    } catch {
      throw new RootKeyMismatchError();
    }
  }

  status(): DomainKeyStatus {
    return {
      activeId: this.#active?.id,
      activeCreatedAt: this.#active?.createdAt,
      ids: [...this.#keys.keys()],
    };
  }

  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /**
   * Generate a new domain key and return it wrapped, marked active, for storage. It is used
   * once a load lists it (after it was persisted); until then it is only pending.
   */
  rotate(now: Date): WrappedDomainKey {
    const id = `dk-${randomUUID()}`;
    const key = randomBytes(32);
    const wrapped = sealGcm(this.#wrapKey.bytes, key, aadFor(id));
    this.#pending.set(id, new SecretBytes(key));
    return { id, wrapped, createdAt: now, active: true };
  }

  /** Forget an old domain key (already deleted from storage); its bytes are zeroed. */
  drop(id: string): void {
    if (id === this.#active?.id) throw new Error('cannot drop the active domain key');
    this.#keys.get(id)?.zeroize();
    this.#keys.delete(id);
  }

  /** Seal `plaintext` under the active domain key; `aad` is built for that key's id. */
  seal(
    plaintext: Buffer,
    aad: (domainKeyId: string) => Buffer,
  ): { domainKeyId: string; sealed: Buffer } {
    const domainKeyId = this.#active?.id;
    const dk = domainKeyId === undefined ? undefined : this.#keys.get(domainKeyId);
    if (domainKeyId === undefined || dk === undefined)
      throw new HsmError('unavailable', 'no active domain key');
    return { domainKeyId, sealed: sealGcm(dk.bytes, plaintext, aad(domainKeyId)) };
  }

  /** Open what seal() made under `domainKeyId`; throws when it does not authenticate. */
  open(domainKeyId: string, sealed: Buffer, aad: Buffer): Buffer {
    const dk = this.#keys.get(domainKeyId);
    /* Precondition: the domain key is loaded (another node may have rotated). */
    if (dk === undefined) throw new HsmError('unavailable', `domain key ${domainKeyId} not loaded`);
    return openGcm(dk.bytes, sealed, aad);
  }
}

/**
 * Check a root key's wrap key against stored domain keys without loading a keyring
 * (offline tools); returns how many were checked, RootKeyMismatchError when one fails.
 */
export function verifyDomainKeys(
  records: readonly WrappedDomainKey[],
  wrapKey: SecretBytes,
): number {
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
