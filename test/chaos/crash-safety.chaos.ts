/**
 * Crash safety: a node under concurrent write load (CreateKey, CreateAlias, CreateGrant,
 * Encrypt) is killed with SIGKILL at random moments and restarted on the same storage, many
 * times. Afterwards every acknowledged key, alias and grant exists, every acknowledged
 * ciphertext decrypts to its plaintext, the audit chain verifies and holds the event of every
 * acknowledged request, and the SQLite files pass integrity_check. Each storage runs once as
 * one process and once as `serve --workers 2` (the whole process group killed at once; every
 * worker's chain checked).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from '../../src/storage/sqlite/driver.js';
import { randomUUID } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import {
  auditRequestIds,
  type Ciphertext,
  Ledger,
  sleep,
  startLoad,
  verifyLedger,
} from './helpers/load.js';
import { keyholdCli, KeyholdProcess, type NodeOptions } from './helpers/node-process.js';
import { testPgUrl, withDatabase } from './helpers/pg-db.js';
import { report } from './helpers/summary.js';

const CYCLES = Number(process.env.KEYHOLD_CHAOS_CYCLES ?? 15);
const WORKERS = 8;

function sqliteIntegrity(dataDir: string): void {
  const files = ['keyhold.db', 'audit.db', 'audit-w2.db'].filter(
    (f) => f === 'keyhold.db' || existsSync(join(dataDir, f)),
  );
  for (const file of files) {
    // Read-only: the checker must not recover (checkpoint) the WAL in the node's place.
    const db = new Database(join(dataDir, file), { readonly: true, fileMustExist: true });
    try {
      assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }], file);
      assert.deepEqual(db.pragma('foreign_key_check'), [], `${file} foreign keys`);
    } finally {
      db.close();
    }
  }
}

/** The checker itself is honest: a ledger with one write the store never saw fails it. */
async function checkerCatchesLoss(client: KMSClient, ledger: Ledger): Promise<void> {
  const phantomKey = Object.assign(new Ledger(), { keys: [...ledger.keys, randomUUID()] });
  await assert.rejects(verifyLedger(client, phantomKey), /acknowledged keys lost/);
  const c = ledger.ciphertexts[0] as Ciphertext;
  const tampered = Object.assign(new Ledger(), {
    ciphertexts: [{ ...c, plaintext: Buffer.concat([c.plaintext, Buffer.from([0])]) }],
  });
  await assert.rejects(verifyLedger(client, tampered), /decrypted to other bytes/);
}

async function crashCycles(
  label: string,
  opts: NodeOptions,
  /** The audit chains the node writes (one per worker). */
  chains: string[],
  /** Consistency checks on the stored files; `final` after the last clean stop. */
  afterCrash: (final: boolean) => void,
  diagnostic: (m: string) => void,
): Promise<void> {
  const ledger = new Ledger();
  const started = Date.now();
  let startKills = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    // Every few cycles, also a crash during start-up (after the first start made the store).
    if (cycle % 4 === 3) {
      await KeyholdProcess.killDuringStart(opts, 50 + Math.random() * 400);
      startKills++;
      afterCrash(false);
    }
    const node = await KeyholdProcess.start(opts);
    const client = node.client();
    const load = startLoad(client, ledger, WORKERS);
    // A random moment: sometimes right after start, sometimes deep into the load.
    await sleep(100 + Math.random() * 1400);
    await node.kill9();
    await load.stop();
    client.destroy();
    afterCrash(false);
  }
  const node = await KeyholdProcess.start(opts);
  const client = node.client();
  try {
    assert.deepEqual(ledger.clientErrors, [], 'no 4xx answers under chaos');
    assert.ok(ledger.acked.CreateKey > 0 && ledger.acked.Encrypt > 0, ledger.summary());
    const verified = await verifyLedger(client, ledger);
    await checkerCatchesLoss(client, ledger);
    client.destroy();
    assert.equal(await node.stop(), 0, node.log);

    const verify = keyholdCli(['audit', 'verify'], opts);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    const inAudit = new Set<string>();
    for (const chain of chains) {
      const tail = keyholdCli(['audit', 'tail', '-n', '10000000', '--chain', chain], opts);
      assert.equal(tail.status, 0, tail.stderr);
      const ids = auditRequestIds(tail.stdout);
      assert.ok(ids.size > 0, `chain ${chain} recorded events`);
      for (const id of ids) inAudit.add(id);
    }
    const missing = [...ledger.requestIds].filter((id) => !inAudit.has(id));
    assert.deepEqual(missing, [], 'every acknowledged request has its audit event');
    afterCrash(true);

    report(
      `crash safety (${label}): ${CYCLES} SIGKILL cycles under load + ${startKills} during start-up in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${ledger.summary()}; verified ${verified.keys} keys, ${verified.aliases} aliases, ` +
        `${verified.grants} grants, ${verified.ciphertexts} ciphertexts decrypt, ` +
        `${ledger.requestIds.size} audit events of acknowledged requests; ${verify.stdout.trim().replace(/\n/g, '; ')}`,
      diagnostic,
    );
  } finally {
    client.destroy();
    if (node.running) await node.kill9();
  }
}

/** PostgreSQL's own corruption check (amcheck: heap and B-tree structure, every index entry). */
function pgAmcheck(url: string): void {
  const u = new URL(url);
  const bin = execFileSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'], {
    encoding: 'utf8',
  }).trim();
  const res = spawnSync(join(bin, 'pg_amcheck'), ['--install-missing', '--heapallindexed', url], {
    encoding: 'utf8',
  });
  assert.equal(res.status, 0, `pg_amcheck ${u.pathname}: ${res.stdout}${res.stderr}`);
}

describe('crash safety: SIGKILL under write load', () => {
  for (const workers of [1, 2]) {
    const w = workers === 1 ? 'one process' : `--workers ${workers}`;
    const sqliteChains = workers === 1 ? ['local'] : ['local', 'local-w2'];
    it(`SQLite, ${w}: nothing acknowledged is lost, nothing is corrupted`, async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-chaos-'));
      try {
        await crashCycles(
          `SQLite, ${w}`,
          { dataDir, workers },
          sqliteChains,
          () => sqliteIntegrity(dataDir),
          (m) => t.diagnostic(m),
        );
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it(`PostgreSQL, ${w}: nothing acknowledged is lost, nothing is corrupted`, async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-chaos-'));
      const node = 'chaos-crash';
      try {
        await withDatabase(testPgUrl(), 'keyhold_chaos', async (url) => {
          await crashCycles(
            `PostgreSQL, ${w}`,
            { dataDir, storageUrl: url, env: { KEYHOLD_NODE_ID: node }, workers },
            workers === 1 ? [node] : [node, `${node}-w2`],
            (final) => {
              if (final) pgAmcheck(url);
            },
            (m) => t.diagnostic(m),
          );
        });
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  }
});
