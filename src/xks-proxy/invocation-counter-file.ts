/**
 * The proxy's durable AES-GCM invocation counters (hsm/gcm-budget.ts reserves blocks in
 * it): one JSON file, `{ counters: { <externalKeyId>: <reserved> } }`, rewritten atomically
 * (temp file, fsync, rename; mode 0600) on every reservation, so a crash never leaves a
 * count below what was used. One proxy process per counter file: two processes sharing one
 * would overwrite each other's reservations.
 *
 * Not secret and not authenticated: someone who may rewrite it may also replace the key
 * file. Lowering a count only weakens the bound, it exposes no key.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename } from 'node:fs/promises';
import { ConfigError } from '../config/config.js';
import type { InvocationCounterStore } from '../hsm/gcm-budget.js';

const FORMAT = 'keyhold-xks-gcm-invocations';

export class InvocationCounterFile implements InvocationCounterStore {
  readonly path: string;
  readonly #counters: Map<string, number>;
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string, counters: Map<string, number>) {
    this.path = path;
    this.#counters = counters;
  }

  /**
   * Read the file (a missing file is an empty set of counters) and write it back once, so
   * that a place the proxy may not write fails at start, not at the first Encrypt.
   */
  static async open(path: string): Promise<InvocationCounterFile> {
    const file = await InvocationCounterFile.#read(path);
    try {
      await file.#write();
    } catch (err) {
      throw new ConfigError(
        `cannot write the GCM invocation counters ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); set backend.invocationCounterFile to a writable path`,
      );
    }
    return file;
  }

  static async #read(path: string): Promise<InvocationCounterFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return new InvocationCounterFile(path, new Map());
      throw new ConfigError(`cannot read the GCM invocation counters ${path}: ${String(err)}`);
    }
    const counters = new Map<string, number>();
    let raw: { format?: unknown; counters?: Record<string, unknown> };
    try {
      raw = JSON.parse(text) as typeof raw;
    } catch {
      throw new ConfigError(`${path}: not a ${FORMAT} file`);
    }
    if (raw?.format !== FORMAT || typeof raw.counters !== 'object' || raw.counters === null)
      throw new ConfigError(`${path}: not a ${FORMAT} file`);
    for (const [id, n] of Object.entries(raw.counters)) {
      if (!Number.isSafeInteger(n) || (n as number) < 0)
        throw new ConfigError(`${path}: bad count for ${id}`);
      counters.set(id, n as number);
    }
    return new InvocationCounterFile(path, counters);
  }

  async reserve(counterId: string, n: number): Promise<number> {
    const total = (this.#counters.get(counterId) ?? 0) + n;
    this.#counters.set(counterId, total);
    // Writes are serialised; each writes the whole current map, so the last one holds all.
    const write = this.#writing.then(() => this.#write());
    this.#writing = write.catch(() => undefined);
    await write;
    return total;
  }

  async #write(): Promise<void> {
    const body = JSON.stringify({
      format: FORMAT,
      version: 1,
      counters: Object.fromEntries(this.#counters),
    });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(body + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
  }
}
