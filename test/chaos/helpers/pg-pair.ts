/**
 * A PostgreSQL primary + synchronous standby on loopback (scripts/chaos/pg-pair.sh) in a temp
 * dir this process owns, on two free ports; removed by down().
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const SCRIPT = 'scripts/chaos/pg-pair.sh';

/** A port the OS says is free now (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class PgPair {
  private constructor(
    readonly dir: string,
    readonly primaryPort: number,
    readonly standbyPort: number,
  ) {}

  static async up(): Promise<PgPair> {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-pgpair-'));
    const p1 = await freePort();
    let p2 = await freePort();
    while (p2 === p1) p2 = await freePort();
    const pair = new PgPair(dir, p1, p2);
    try {
      execFileSync(SCRIPT, ['up', dir, String(p1), String(p2)], { stdio: 'pipe' });
    } catch (err) {
      pair.down();
      throw new Error(`pg-pair up failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
    return pair;
  }

  /** keyhold's multi-host URL: the writable one of the two, whichever that is now. */
  url(db: string): string {
    return (
      `postgres://postgres@127.0.0.1:${this.primaryPort},127.0.0.1:${this.standbyPort}/${db}` +
      '?target_session_attrs=read-write'
    );
  }

  async sql(port: number, text: string, db = 'postgres'): Promise<pg.QueryResult> {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: db });
    await c.connect();
    try {
      return await c.query(text);
    } finally {
      await c.end();
    }
  }

  killPrimary(): void {
    execFileSync(SCRIPT, ['kill-primary', this.dir], { stdio: 'pipe' });
  }

  promote(): void {
    execFileSync(SCRIPT, ['promote', this.dir], { stdio: 'pipe' });
  }

  down(): void {
    execFileSync(SCRIPT, ['down', this.dir], { stdio: 'pipe' });
  }
}

/** True when this machine can run the pair (server binaries and a postgres user). */
export function pgPairAvailable(): boolean {
  try {
    execFileSync('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/pg_ctl && id postgres'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}
