/**
 * Job leases: one row per background job in `job_leases`, owned by one node until
 * `expires_at` (database time, so node clocks do not matter). The owner renews it on
 * every run and keeps it between runs, so one node runs the jobs while it lives; when it
 * dies another node takes over once the lease has expired.
 */
import type { PgDb } from './pg-db.js';

export interface LeaseInfo {
  owner: string;
  expiresAt: Date;
  runs: number;
}

export class PgLeases {
  constructor(private readonly db: PgDb) {}

  /** Take or renew the lease; true when `owner` holds it now. */
  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const r = await this.db.query(
      `INSERT INTO job_leases (name, owner, expires_at)
         VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE job_leases.owner = excluded.owner OR job_leases.expires_at < now()
       RETURNING owner`,
      [name, owner, ttlMs],
    );
    return r.rows.length === 1;
  }

  /** Give the lease up (clean shutdown), so another node takes over at once. */
  async release(name: string, owner: string): Promise<void> {
    await this.db.query(
      "UPDATE job_leases SET expires_at = now() - interval '1 second' WHERE name = $1 AND owner = $2",
      [name, owner],
    );
  }

  async info(name: string): Promise<LeaseInfo | undefined> {
    const r = await this.db.query(
      'SELECT owner, expires_at, runs FROM job_leases WHERE name = $1',
      [name],
    );
    const x = r.rows[0];
    if (x === undefined) return undefined;
    return { owner: String(x.owner), expiresAt: x.expires_at as Date, runs: Number(x.runs) };
  }

  /**
   * Run `fn` only if `owner` holds (or can take) the lease; the lease is renewed while
   * `fn` runs. Returns whether it ran.
   */
  async runExclusive(
    name: string,
    owner: string,
    ttlMs: number,
    fn: () => Promise<void>,
  ): Promise<boolean> {
    if (!(await this.acquire(name, owner, ttlMs))) return false;
    await this.db.query('UPDATE job_leases SET runs = runs + 1 WHERE name = $1 AND owner = $2', [
      name,
      owner,
    ]);
    const renew = setInterval(
      () => void this.acquire(name, owner, ttlMs).catch(() => undefined),
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
