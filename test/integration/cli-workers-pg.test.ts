/**
 * `keyhold serve --workers 2` on PostgreSQL: each worker is a node of its own chain
 * (`<node id>`, `<node id>-w2`); a DisableKey made through worker 1 holds on the next
 * request to worker 2 (NOTIFY); SIGTERM drains both; `audit verify` checks both chains and
 * `audit tail` reads the node's two chains merged.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { MAIN, pinned, serveWorkers, type Pinned, type Served } from '../helpers/workers.js';

const NODE = 'pgworkers';
const CHAINS = [NODE, `${NODE}-w2`];

const encrypt = (kms: KMSClient, keyId: string) =>
  kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));

describe('keyhold serve --workers 2 (PostgreSQL)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let served: Served;
  let client: pg.Client;
  const pins: Pinned[] = [];
  const env = () => ({ KEYHOLD_STORAGE_URL: db.url, KEYHOLD_NODE_ID: NODE });

  /** Which worker's chain grew while `call` ran (1-based). */
  const servedBy = async (call: () => Promise<unknown>): Promise<number> => {
    const heads = async () => {
      const r = await client.query<{ chain_id: string; n: string }>(
        'SELECT chain_id, max(seq) AS n FROM audit_events GROUP BY chain_id',
      );
      return CHAINS.map((c) => Number(r.rows.find((x) => x.chain_id === c)?.n ?? 0));
    };
    const before = await heads();
    await call();
    const grew = (await heads()).flatMap((n, i) => (n > (before[i] as number) ? [i + 1] : []));
    assert.equal(grew.length, 1, JSON.stringify(grew));
    return grew[0] as number;
  };

  before(async () => {
    db = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'keyhold-workers-pg-'));
    served = await serveWorkers(dataDir, ['--workers', '2'], env());
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });

  after(async () => {
    for (const p of pins) p.destroy();
    await client?.end();
    if (served?.child.exitCode === null) await served.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    await db?.drop();
  });

  it('both workers serve, each on its own chain; DisableKey on one holds on the other', async () => {
    assert.match(served.output(), /2 workers \(pids \d+, \d+\)/);
    const byWorker = new Map<number, Pinned>();
    for (let i = 0; i < 8 && byWorker.size < 2; i++) {
      const p = pinned(served.url);
      pins.push(p);
      const w = await servedBy(() => p.kms().send(new CreateKeyCommand({})));
      if (!byWorker.has(w)) byWorker.set(w, p);
    }
    assert.equal(byWorker.size, 2, 'both workers accepted connections');
    const a = byWorker.get(1) as Pinned;
    const b = byWorker.get(2) as Pinned;
    const key = (await a.kms().send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await encrypt(b.kms(), key); // worker 2 caches the key record
    await a.kms().send(new DisableKeyCommand({ KeyId: key }));
    await assert.rejects(encrypt(b.kms(), key), (err: Error) => err.name === 'DisabledException');
  });

  it('SIGTERM drains both; audit verify checks both chains; tail reads them merged', () => {
    return served.stop('SIGTERM').then((code) => {
      assert.equal(code, 0, served.output());
      const cli = (args: string[]) =>
        spawnSync(process.execPath, [MAIN, 'audit', ...args, '--data-dir', dataDir], {
          encoding: 'utf8',
          env: { ...process.env, ...env() },
        });
      const v = cli(['verify']);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      for (const c of CHAINS) assert.match(v.stdout, new RegExp(`^chain ${c}: audit log OK`, 'm'));
      const count = (out: string) => out.trim().split('\n').filter(Boolean).length;
      const all = cli(['tail', '-n', '100000']);
      assert.equal(all.status, 0, all.stderr);
      const per = CHAINS.map((c) => count(cli(['tail', '-n', '100000', '--chain', c]).stdout));
      assert.ok((per[0] as number) > 0 && (per[1] as number) > 0, String(per));
      assert.equal(count(all.stdout), (per[0] as number) + (per[1] as number));
    });
  });
});
