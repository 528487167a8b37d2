/**
 * The PostgreSQL connection layer: a pg.Pool on the current primary, found from a
 * libpq-style multi-host URL (node-postgres has no multi-host support of its own).
 *
 *   postgres://user@h1:5432,h2:5433/keyhold?target_session_attrs=read-write
 *
 * Hosts are tried in order and only a server where `pg_is_in_recovery()` is false is
 * kept. When a query fails because the connection was lost or the server became
 * read-only (a failed-over primary), the pool is dropped and the primary found again,
 * by itself, so a node survives a failover without a restart. A query that failed that
 * way is not retried (it may have committed): the caller sees the error.
 */
import pg from 'pg';

export interface PgTarget {
  /** One connection string per host, in the order given. */
  hosts: string[];
  /** `any` accepts a standby (read-only use); default read-write. */
  sessionAttrs: 'read-write' | 'any';
}

/** Split a libpq-style URL with a comma-separated host list into one URL per host. */
export function parsePgUrl(url: string): PgTarget {
  const m = /^(postgres(?:ql)?:\/\/)([^@/]*@)?([^/?#]*)(.*)$/.exec(url);
  if (m === null) throw new Error('storage URL must start with postgres:// or postgresql://');
  const [, scheme = '', auth = '', hostList = '', rest = ''] = m;
  let sessionAttrs: PgTarget['sessionAttrs'] = 'read-write';
  const [path, query = ''] = rest.split('?', 2) as [string, string | undefined];
  const params = new URLSearchParams(query);
  const tsa = params.get('target_session_attrs');
  if (tsa !== null) {
    if (tsa !== 'read-write' && tsa !== 'any' && tsa !== 'primary')
      throw new Error(`target_session_attrs=${tsa} is not supported (read-write, primary, any)`);
    sessionAttrs = tsa === 'any' ? 'any' : 'read-write';
    params.delete('target_session_attrs');
  }
  const q = params.toString();
  const hosts = hostList
    .split(',')
    .filter((h) => h !== '')
    .map((h) => `${scheme}${auth}${h}${path}${q === '' ? '' : `?${q}`}`);
  if (hosts.length === 0) throw new Error('storage URL names no host');
  return { hosts, sessionAttrs };
}

/** The URL with its password masked, for logs and errors. */
export function redactPgUrl(url: string): string {
  return url.replace(/(:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

export interface PgDbOptions {
  /** Connections per node (default 10). */
  max?: number;
  /** A schema to use instead of `public` (tests: one per store). */
  schema?: string | undefined;
  connectTimeoutMs?: number;
}

/** SQLSTATEs and socket errors after which the primary must be found again. */
const RESOLVE_CODES = new Set([
  '25006', // read_only_sql_transaction: we are on a standby (or a demoted primary)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / shutting down)
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

export function needsResolve(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && RESOLVE_CODES.has(code)) return true;
  const msg = (err as { message?: unknown }).message;
  return (
    typeof msg === 'string' &&
    /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(
      msg,
    )
  );
}

/** Something to run one statement on: the pool (PgDb) or a transaction's client. */
export interface Q {
  query(text: string, params?: unknown[]): Promise<pg.QueryResult<Record<string, unknown>>>;
}

export class PgDb {
  readonly target: PgTarget;
  readonly #opts: PgDbOptions;
  #pool: pg.Pool | undefined;
  #resolving: Promise<pg.Pool> | undefined;
  #closed = false;
  /** The host URL of the current primary (for /ready and logs). */
  currentHost: string | undefined;
  readonly #onResolve: Array<() => void> = [];

  constructor(url: string, opts: PgDbOptions = {}) {
    this.target = parsePgUrl(url);
    this.#opts = opts;
  }

  /** Called after the pool moved to a (possibly new) primary. */
  onResolve(fn: () => void): void {
    this.#onResolve.push(fn);
  }

  /** Client config for one host (also used by the LISTEN connection). */
  clientConfig(host: string): pg.ClientConfig {
    return {
      connectionString: host,
      connectionTimeoutMillis: this.#opts.connectTimeoutMs ?? 3000,
      ...(this.#opts.schema !== undefined
        ? { options: `-c search_path=${this.#opts.schema}` }
        : {}),
    };
  }

  /** The first host that accepts writes (or any host with sessionAttrs `any`). */
  async findPrimary(): Promise<string> {
    const problems: string[] = [];
    for (const host of this.target.hosts) {
      const c = new pg.Client(this.clientConfig(host));
      c.on('error', () => undefined);
      try {
        await c.connect();
        const r = await c.query<{ ro: boolean }>('SELECT pg_is_in_recovery() AS ro');
        if (this.target.sessionAttrs === 'any' || r.rows[0]?.ro === false) return host;
        problems.push(`${redactPgUrl(host)}: read-only (standby)`);
      } catch (err) {
        problems.push(`${redactPgUrl(host)}: ${(err as Error).message}`);
      } finally {
        await c.end().catch(() => undefined);
      }
    }
    throw new Error(`no writable PostgreSQL server: ${problems.join('; ')}`);
  }

  async #getPool(): Promise<pg.Pool> {
    if (this.#closed) throw new Error('storage is closed');
    if (this.#pool !== undefined) return this.#pool;
    this.#resolving ??= (async () => {
      try {
        const host = await this.findPrimary();
        const pool = new pg.Pool({ ...this.clientConfig(host), max: this.#opts.max ?? 10 });
        // An idle client that loses its server emits here; the next query re-resolves.
        pool.on('error', () => this.#invalidate(pool));
        this.#pool = pool;
        this.currentHost = host;
        for (const fn of this.#onResolve) fn();
        return pool;
      } finally {
        this.#resolving = undefined;
      }
    })();
    return this.#resolving;
  }

  #invalidate(pool: pg.Pool): void {
    if (this.#pool !== pool) return;
    this.#pool = undefined;
    this.currentHost = undefined;
    void pool.end().catch(() => undefined);
  }

  #failed(pool: pg.Pool, err: unknown): void {
    if (needsResolve(err)) this.#invalidate(pool);
  }

  async query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    const pool = await this.#getPool();
    try {
      return await pool.query<R>(text, params);
    } catch (err) {
      this.#failed(pool, err);
      throw err;
    }
  }

  /** Run `fn` in one transaction (READ COMMITTED); rolls back when it throws. */
  async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const pool = await this.#getPool();
    let client: pg.PoolClient;
    try {
      client = guardCheckedOut(await pool.connect());
    } catch (err) {
      this.#failed(pool, err);
      throw err;
    }
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      client.release();
      return out;
    } catch (err) {
      const broken = needsResolve(err);
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      // A broken connection must not go back to the pool.
      client.release(broken ? (err as Error) : undefined);
      this.#failed(pool, err);
      throw err;
    }
  }

  /** A pooled client of its own (for work that manages its own transaction). */
  async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const pool = await this.#getPool();
    const client = guardCheckedOut(await pool.connect());
    try {
      const out = await fn(client);
      client.release();
      return out;
    } catch (err) {
      client.release(needsResolve(err) ? (err as Error) : undefined);
      this.#failed(pool, err);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool ?? (await this.#resolving?.catch(() => undefined));
    this.#pool = undefined;
    await pool?.end().catch(() => undefined);
  }
}

/**
 * pg-pool listens for 'error' only on idle clients. A checked-out client whose server dies
 * (a killed primary) emits 'error', and with no listener that kills the process. The query
 * in flight gets the error too and the caller releases the client as broken, so the
 * listener only has to exist. Found by test/chaos/failover.chaos.ts.
 */
function guardCheckedOut(client: pg.PoolClient): pg.PoolClient {
  if (client.listenerCount('error') === 0) client.on('error', () => undefined);
  return client;
}

/** Affected rows of a result (0 when pg reports none). */
export function changes(r: { rowCount: number | null }): number {
  return r.rowCount ?? 0;
}

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '23505';
}
