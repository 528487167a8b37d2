/**
 * CSPRNG output drawn in blocks: one randomFillSync per 16 KiB instead of one per call
 * (each call into OpenSSL's RNG costs more than the bytes). Every byte is handed out once
 * and the pool region is zeroed as it is consumed.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 16 * 1024;

export class RandomPool {
  readonly #pool = Buffer.alloc(POOL_SIZE);
  #offset = POOL_SIZE;

  /** `n` fresh random bytes in a new buffer the caller owns. */
  take(n: number): Buffer {
    if (n > POOL_SIZE / 4) return randomFillSync(Buffer.alloc(n));
    if (this.#offset + n > POOL_SIZE) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const out = Buffer.allocUnsafe(n);
    this.#pool.copy(out, 0, this.#offset, this.#offset + n);
    this.#pool.fill(0, this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }
}
