import { inspect } from 'node:util';

/**
 * Secret key bytes: set once, zeroizable, never printed or serialized.
 * `toJSON` and `util.inspect` redact, so an accidental log line shows nothing.
 */
export class SecretBytes {
  #bytes: Buffer;
  #zeroed = false;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** The raw bytes. Callers must not keep references beyond the operation. */
  get bytes(): Buffer {
    if (this.#zeroed) throw new Error('secret already zeroized');
    return this.#bytes;
  }

  get length(): number {
    return this.#bytes.length;
  }

  zeroize(): void {
    this.#bytes.fill(0);
    this.#zeroed = true;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'SecretBytes([redacted])';
  }
}
