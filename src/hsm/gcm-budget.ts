/**
 * AES-GCM invocation budget for long-lived keys that encrypt with random 96-bit IVs (token
 * keys of CloudHSM-type stores, the XKS proxy's keys). NIST SP 800-38D §8.3 limits such a
 * key to 2^32 invocations (IV collision probability ≤ 2^-32); keyhold refuses to encrypt
 * at a lower limit (default 2^30) and keeps decrypting.
 *
 * Counting is durable without a write per call: a process reserves a block of invocations
 * in the store (an atomic add), uses it in memory, and reserves the next block when it runs
 * out. A crash loses at most the unused rest of a block, so the stored count is never
 * below what was used (it over-counts, never under-counts); several processes sharing one
 * store each reserve their own blocks.
 */
import { HsmError } from './hsm-error.js';

/** SP 800-38D's bound for random 96-bit IVs. */
export const GCM_RANDOM_IV_MAX_INVOCATIONS = 2 ** 32;
/** Where keyhold stops encrypting under one key (a quarter of the bound). */
export const DEFAULT_GCM_INVOCATION_LIMIT = 2 ** 30;
/**
 * Invocations reserved per store write: the first block of a process is small (a restart
 * wastes little of a rarely used key's budget), each next one doubles, up to the maximum.
 */
export const GCM_FIRST_BLOCK = 64;
export const GCM_MAX_BLOCK = 2 ** 16;

export interface InvocationCounterStore {
  /** Atomically add `n` to the counter (created at 0) and return the new total. */
  reserve(counterId: string, n: number): Promise<number>;
}

/** Encrypting once more under this key would pass the configured invocation limit (HsmError 'exhausted'). */
export class GcmLimitReachedError extends HsmError {
  constructor(readonly counterId: string) {
    super('exhausted', `AES-GCM invocation limit reached for ${counterId}`);
    this.name = 'GcmLimitReachedError';
  }
}

export function checkGcmLimit(limit: number, what: string): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > GCM_RANDOM_IV_MAX_INVOCATIONS)
    throw new RangeError(`${what} must be an integer from 1 to 2^32 (${limit})`);
  return limit;
}

interface Counter {
  /** Invocations used by this process, as an absolute count position. */
  next: number;
  /** End (exclusive) of the block this process reserved. */
  end: number;
  /** Size of the next reservation. */
  block: number;
  /** A reservation in flight; callers wait for it instead of reserving twice. */
  pending?: Promise<void> | undefined;
}

export class GcmInvocationBudget {
  readonly limit: number;
  readonly #store: InvocationCounterStore;
  readonly #firstBlock: number;
  readonly #maxBlock: number;
  readonly #counters = new Map<string, Counter>();

  constructor(
    store: InvocationCounterStore,
    opts: { limit?: number; firstBlock?: number; maxBlock?: number } = {},
  ) {
    this.#store = store;
    this.limit = checkGcmLimit(opts.limit ?? DEFAULT_GCM_INVOCATION_LIMIT, 'GCM invocation limit');
    this.#firstBlock = opts.firstBlock ?? GCM_FIRST_BLOCK;
    this.#maxBlock = opts.maxBlock ?? GCM_MAX_BLOCK;
  }

  /**
   * Count one encryption under `counterId`; throws GcmLimitReachedError (and counts
   * nothing) when it would be invocation number `limit` + 1 or later.
   */
  async take(counterId: string): Promise<void> {
    let c = this.#counters.get(counterId);
    if (c === undefined) {
      c = { next: 0, end: 0, block: this.#firstBlock };
      this.#counters.set(counterId, c);
    }
    while (c.next >= c.end) {
      if (c.end >= this.limit && c.next >= this.limit) throw new GcmLimitReachedError(counterId);
      c.pending ??= this.#reserve(counterId, c).finally(() => {
        (c as Counter).pending = undefined;
      });
      await c.pending;
    }
    if (c.next >= this.limit) throw new GcmLimitReachedError(counterId);
    c.next += 1;
  }

  /** Forget a key's in-memory block (its key was deleted). */
  forget(counterId: string): void {
    this.#counters.delete(counterId);
  }

  async #reserve(counterId: string, c: Counter): Promise<void> {
    const n = c.block;
    const total = await this.#store.reserve(counterId, n);
    c.next = total - n;
    c.end = total;
    c.block = Math.min(n * 2, this.#maxBlock);
  }
}
