/**
 * Job leases for the workers of one SQLite node (`keyhold serve --workers N`): the same
 * contract as PostgreSQL's `job_leases`, kept as a `kms_meta` row (`lease:<name>` →
 * `<owner> <expires ms>`) so that no migration is needed. Taken and renewed in an IMMEDIATE
 * transaction, so two workers asking at once get one answer. The owner keeps the lease
 * between runs; when it dies, another worker (or its own restart, which has the same owner
 * id) takes over once the lease has expired.
 */
import type BetterSqlite3 from 'better-sqlite3';

const PREFIX = 'lease:';

export interface SqliteLeaseInfo {
  owner: string;
  expiresAt: Date;
}

export class SqliteLeases {
  readonly #get: BetterSqlite3.Statement<[string], { value: string }>;
  readonly #put: BetterSqlite3.Statement<[string, string]>;
  readonly #take: (name: string, owner: string, ttlMs: number) => boolean;

  constructor(
    db: BetterSqlite3.Database,
    private readonly now: () => number = Date.now,
  ) {
    this.#get = db.prepare('SELECT value FROM kms_meta WHERE name = ?');
    this.#put = db.prepare(
      `INSERT INTO kms_meta (name, value) VALUES (?, ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
    );
    const take = db.transaction((name: string, owner: string, ttlMs: number): boolean => {
      const held = this.#read(name);
      const t = this.now();
      if (held !== undefined && held.owner !== owner && held.expiresAt.getTime() > t) return false;
      this.#put.run(PREFIX + name, `${owner} ${t + ttlMs}`);
      return true;
    });
    this.#take = (name, owner, ttlMs) => take.immediate(name, owner, ttlMs);
  }

  #read(name: string): SqliteLeaseInfo | undefined {
    const row = this.#get.get(PREFIX + name);
    if (row === undefined) return undefined;
    const [owner = '', expires = '0'] = row.value.split(' ');
    return { owner, expiresAt: new Date(Number(expires)) };
  }

  info(name: string): SqliteLeaseInfo | undefined {
    return this.#read(name);
  }

  /** Take or renew the lease; true when `owner` holds it now. */
  acquire(name: string, owner: string, ttlMs: number): boolean {
    return this.#take(name, owner, ttlMs);
  }

  /** Give the lease up (clean shutdown), so another worker takes over at once. */
  release(name: string, owner: string): void {
    const held = this.#read(name);
    if (held?.owner === owner) this.#put.run(PREFIX + name, `${owner} 0`);
  }

  /** Run `fn` only if `owner` holds (or can take) the lease, renewing it while `fn` runs. */
  async runExclusive(
    name: string,
    owner: string,
    ttlMs: number,
    fn: () => Promise<void>,
  ): Promise<boolean> {
    if (!this.acquire(name, owner, ttlMs)) return false;
    const renew = setInterval(
      () => {
        try {
          this.acquire(name, owner, ttlMs);
        } catch {
          // Busy database: the next renewal or run retries.
        }
      },
      Math.max(1000, Math.floor(ttlMs / 3)),
    );
    renew.unref();
    try {
      await fn();
    } finally {
      clearInterval(renew);
    }
    return true;
  }
}
