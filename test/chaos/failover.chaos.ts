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
import {
  auditRequestIds,
  Ledger,
  type LoadHandle,
  sleep,
  startLoad,
  verifyLedger,
} from './helpers/load.js';
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
    let loads: LoadHandle[] = [];
    try {
      const db = `keyhold_chaos_${randomBytes(4).toString('hex')}`;
      await pair.sql(pair.primaryPort, `CREATE DATABASE ${db}`);
      const url = pair.url(db);
      // Named nodes: in PostgreSQL mode each node has its own audit chain, read by node id.
      const opts = (i: number): NodeOptions => ({
        dataDir: dirs[i] as string,
        storageUrl: url,
        env: { KEYHOLD_NODE_ID: `chaos-node-${i}` },
      });
      nodes.push(await KeyholdProcess.start(opts(0)));
      nodes.push(await KeyholdProcess.start(opts(1)));

      // One ledger per node: recovery is measured for each of them.
      const ledgers = nodes.map(() => new Ledger());
      const clients = nodes.map((n) => n.client());
      loads = clients.map((c, i) => startLoad(c, ledgers[i] as Ledger, WORKERS_PER_NODE));
      await waitFor(() => ledgers.every((l) => l.total >= 50), 30_000, 'writes before the kill');

      const killedAt = Date.now();
      pair.killPrimary();
      await sleep(PROMOTE_AFTER_MS);
      const promotedAt = Date.now();
      pair.promote();
      const promoteMs = Date.now() - promotedAt;

      // Recovery: the first write sent after the kill that was acknowledged. (Requests sent
      // before the kill may still be answered after it: they committed before it.)
      const firstAckSentAfter = (l: Ledger, since: number) =>
        l.acks.find((a) => a.sent > since)?.answered;
      await waitFor(
        () => ledgers.every((l) => firstAckSentAfter(l, promotedAt) !== undefined),
        RECOVERY_LIMIT_MS,
        'both nodes to write to the promoted standby',
      ).catch((err: Error) => {
        const detail = nodes.map((n, i) => `node ${i}: ${ledgers[i]?.summary()}\n${n.log}`);
        throw new Error(`${err.message}\n${detail.join('\n')}`);
      });
      const recovered = ledgers.map((l) => (firstAckSentAfter(l, killedAt) as number) - killedAt);
      // With the primary dead and the standby not yet promoted there is no writable server:
      // a write sent in that window and acknowledged before the promotion went nowhere durable.
      for (const l of ledgers)
        assert.ok(
          !l.acks.some((a) => a.sent > killedAt && a.answered < promotedAt),
          'no write acknowledged while no server was writable',
        );
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
      nodes.push(await KeyholdProcess.start(opts(2)));
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
      // Every chain verifies; each node's chain holds the events of the writes it acknowledged.
      const verify = keyholdCli(['audit', 'verify'], opts(0));
      assert.equal(verify.status, 0, verify.stdout + verify.stderr);
      ledgers.forEach((l, i) => {
        const tail = keyholdCli(['audit', 'tail', '-n', '10000000'], opts(i));
        assert.equal(tail.status, 0, tail.stderr);
        const inAudit = auditRequestIds(tail.stdout);
        const missing = [...l.requestIds].filter((id) => !inAudit.has(id));
        assert.deepEqual(missing, [], `node ${i}: every acknowledged request has its audit event`);
      });

      const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
      report(
        `failover (PostgreSQL primary + synchronous standby): primary killed under load of 2 nodes, ` +
          `standby promoted after ${fmt(PROMOTE_AFTER_MS)} (pg_ctl promote took ${promoteMs} ms); ` +
          `time to recover (kill → first acknowledged write): ${recovered.map(fmt).join(', ')} ` +
          `(promote → first write: ${recovered.map((r) => fmt(r - (promotedAt - killedAt))).join(', ')}); ` +
          `${ledgers.map((l, i) => `node ${i}: ${l.summary()}`).join('; ')}; lost: 0 — verified ` +
          `${verified.keys} keys, ${verified.aliases} aliases, ${verified.grants} grants, ` +
          `${verified.ciphertexts} ciphertexts, ${all.requestIds.size} audit events; ${verify.stdout.trim().replace(/\n/g, '; ')}`,
        (m) => t.diagnostic(m),
      );
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
      for (const n of nodes) if (n.running) await n.kill9();
      pair.down();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
