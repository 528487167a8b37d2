/**
 * Failover: two keyhold nodes on a PostgreSQL primary with a synchronous standby (two
 * clusters on loopback). Under write load the primary is killed (postmaster and backends,
 * kill -9) and the standby promoted; the nodes, configured with the multi-host URL
 * (target_session_attrs=read-write), find the new primary by themselves, without restarts.
 * Every acknowledged write is then read back from the promoted standby, and the time from
 * the kill to the first acknowledged write is reported.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { auditRequestIds, Ledger, sleep, startLoad, verifyLedger } from './helpers/load.js';
import { keyholdCli, KeyholdProcess, type NodeOptions } from './helpers/node-process.js';
import { PgPair, pgPairAvailable } from './helpers/pg-pair.js';
import { report } from './helpers/summary.js';

/** How long an operator's failover manager takes to notice and promote (simulated). */
const PROMOTE_AFTER_MS = Number(process.env.KEYHOLD_CHAOS_PROMOTE_AFTER_MS ?? 1000);
const WORKERS_PER_NODE = 4;
const RECOVERY_LIMIT_MS = 30_000;

/** A data dir holding the operator-distributed salt, so every node derives one root key. */
function dataDirWithSalt(salt: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-chaos-node-'));
  writeFileSync(join(dir, 'root.salt'), salt + '\n', { mode: 0o600 });
  return dir;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe('failover: PostgreSQL primary killed, synchronous standby promoted', () => {
  it('nodes reconnect by themselves and no acknowledged write is lost', async (t) => {
    assert.ok(pgPairAvailable(), 'PostgreSQL server binaries and a postgres user are required');
    const pair = await PgPair.up();
    const salt = randomBytes(32).toString('hex');
    const dirs = [dataDirWithSalt(salt), dataDirWithSalt(salt), dataDirWithSalt(salt)];
    const nodes: KeyholdProcess[] = [];
    try {
      const db = `keyhold_chaos_${randomBytes(4).toString('hex')}`;
      await pair.sql(pair.primaryPort, `CREATE DATABASE ${db}`);
      const url = pair.url(db);
      const opts = (dir: string): NodeOptions => ({ dataDir: dir, storageUrl: url });
      nodes.push(await KeyholdProcess.start(opts(dirs[0] as string)));
      nodes.push(await KeyholdProcess.start(opts(dirs[1] as string)));

      // One ledger per node: recovery is measured for each of them.
      const ledgers = nodes.map(() => new Ledger());
      const clients = nodes.map((n) => n.client());
      const loads = clients.map((c, i) => startLoad(c, ledgers[i] as Ledger, WORKERS_PER_NODE));
      await waitFor(() => ledgers.every((l) => l.total >= 50), 30_000, 'writes before the kill');

      const killedAt = Date.now();
      pair.killPrimary();
      await sleep(PROMOTE_AFTER_MS);
      const promotedAt = Date.now();
      pair.promote();
      const promoteMs = Date.now() - promotedAt;

      const firstAckAfter = (l: Ledger, since: number) => l.ackTimes.find((x) => x > since);
      await waitFor(
        () => ledgers.every((l) => firstAckAfter(l, promotedAt) !== undefined),
        RECOVERY_LIMIT_MS,
        'both nodes to write to the promoted standby',
      );
      const recovered = ledgers.map((l) => (firstAckAfter(l, killedAt) as number) - killedAt);
      // Steady writes on the new primary for a while, then stop.
      const atRecovery = ledgers.map((l) => l.total);
      await sleep(2000);
      await Promise.all(loads.map((l) => l.stop()));
      clients.forEach((c) => c.destroy());
      ledgers.forEach((l, i) =>
        assert.ok(l.total > (atRecovery[i] as number), `node ${i} keeps writing after failover`),
      );
      assert.ok(
        nodes.every((n) => n.running),
        'no node restarted or died: they reconnected by themselves',
      );

      // Everything acknowledged, read through a node started now (it must skip the dead
      // first host) and through an old one.
      const all = new Ledger();
      for (const l of ledgers) {
        all.keys.push(...l.keys);
        for (const [a, k] of l.aliases) all.aliases.set(a, k);
        all.grants.push(...l.grants);
        all.ciphertexts.push(...l.ciphertexts);
        for (const id of l.requestIds) all.requestIds.add(id);
      }
      for (const l of ledgers) assert.deepEqual(l.clientErrors, [], 'no 4xx answers');
      nodes.push(await KeyholdProcess.start(opts(dirs[2] as string)));
      const fresh = (nodes[2] as KeyholdProcess).client();
      const verified = await verifyLedger(fresh, all);
      fresh.destroy();
      const old = (nodes[0] as KeyholdProcess).client();
      await verifyLedger(old, all);
      old.destroy();

      // Straight from the promoted standby: it is the primary now and holds the rows.
      const inRecovery = await pair.sql(pair.standbyPort, 'SELECT pg_is_in_recovery() AS r');
      assert.equal(inRecovery.rows[0].r, false);

      for (const n of nodes) assert.equal(await n.stop(), 0, n.log);
      const cli = opts(dirs[0] as string);
      const verify = keyholdCli(['audit', 'verify'], cli);
      assert.equal(verify.status, 0, verify.stdout + verify.stderr);
      const tail = keyholdCli(['audit', 'tail', '-n', '10000000'], cli);
      assert.equal(tail.status, 0, tail.stderr);
      const inAudit = auditRequestIds(tail.stdout);
      const missing = [...all.requestIds].filter((id) => !inAudit.has(id));
      assert.deepEqual(missing, [], 'every acknowledged request has its audit event');

      const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
      report(
        `failover (PostgreSQL primary + synchronous standby): primary killed under load of 2 nodes, ` +
          `standby promoted after ${fmt(PROMOTE_AFTER_MS)} (pg_ctl promote took ${promoteMs} ms); ` +
          `time to recover (kill → first acknowledged write): ${recovered.map(fmt).join(', ')} ` +
          `(promote → first write: ${recovered.map((r) => fmt(r - (promotedAt - killedAt))).join(', ')}); ` +
          `${ledgers.map((l, i) => `node ${i}: ${l.summary()}`).join('; ')}; lost: 0 — verified ` +
          `${verified.keys} keys, ${verified.aliases} aliases, ${verified.grants} grants, ` +
          `${verified.ciphertexts} ciphertexts, ${all.requestIds.size} audit events; ${verify.stdout.trim()}`,
        (m) => t.diagnostic(m),
      );
    } finally {
      for (const n of nodes) if (n.running) await n.kill9();
      pair.down();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
