/**
 * `npm run bench:storage`: SQLite vs PostgreSQL, one node vs two, and latency as the store
 * grows (1k, 100k, 1M keys).
 *
 * - Servers are real `keyhold serve` processes (dist/src/cli/main.js) with quotas off.
 * - PostgreSQL: a fresh database with a random name on KEYHOLD_TEST_PG_URL's server
 *   (default postgres://postgres@127.0.0.1:5432/postgres), dropped at the end.
 * - Throughput rows: GenerateDataKey (AES_256) and CreateKey at total concurrency 16 (two
 *   nodes: 8 each, through their own sockets, measured over the same window).
 * - Store-size rows: keys (and their key_versions rows) bulk-inserted straight into the
 *   database, then GenerateDataKey at c=1 (latency) and CreateKey at c=1 on a real key.
 * - Writes its table into docs/benchmarks.md between `bench-storage:begin`/`end` markers.
 * Env: BENCH_SECONDS (default 5) per row; BENCH_MAX_KEYS (default 1000000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import pg from 'pg';
import Database from '../src/storage/sqlite/driver.js';
import { SqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { PostgresStorage } from '../src/storage/postgres/pg-storage.js';
import { runLoad, type BenchCredentials, type LoadResult } from './load.js';
import { freePort, httpStatus } from './net.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const MAIN_JS = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DOC = join(ROOT, 'docs', 'benchmarks.md');
const HOST = '127.0.0.1';
const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const CREDS: BenchCredentials = {
  accessKeyId: 'AKIABENCHSTORAGE0001',
  secretAccessKey: 'benchSTORAGEbench/STORAGEbenchSTORAGE000',
};
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const MAX_KEYS = Number(process.env.BENCH_MAX_KEYS ?? 1_000_000);
const PG_ADMIN = process.env.KEYHOLD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Node {
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

async function startNode(opts: {
  dataDir?: string;
  storageUrl?: string;
  id: string;
}): Promise<Node> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'keyhold-bench-storage-'));
  dirs.add(dataDir);
  const port = await freePort(HOST);
  const child = spawn(
    process.execPath,
    [MAIN_JS, 'serve', '--port', String(port), '--data-dir', dataDir],
    {
      env: {
        ...process.env,
        KEYHOLD_ACCESS_KEY_ID: CREDS.accessKeyId,
        KEYHOLD_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
        KEYHOLD_ROOT_PASSPHRASE: 'bench passphrase',
        KEYHOLD_QUOTAS: 'off',
        KEYHOLD_LOG_LEVEL: 'warn',
        KEYHOLD_NODE_ID: opts.id,
        ...(opts.storageUrl !== undefined ? { KEYHOLD_STORAGE_URL: opts.storageUrl } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const deadline = Date.now() + 60_000;
  while ((await httpStatus(`http://${HOST}:${port}/ready`)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`keyhold did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    dataDir,
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once('exit', () => {
          children.delete(child);
          res();
        });
        child.kill('SIGTERM');
      }),
  };
}

async function createKey(port: number): Promise<string> {
  const c = new KMSClient({
    endpoint: `http://${HOST}:${port}`,
    region: REGION,
    credentials: CREDS,
  });
  const id = (await c.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
  c.destroy();
  return id;
}

const spec = (port: number, op: string, body: object) => ({
  host: HOST,
  port,
  region: REGION,
  credentials: CREDS,
  op,
  body: JSON.stringify(body),
});

interface Row {
  label: string;
  op: string;
  c: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** Drive `op` on every node at once (concurrency split evenly) and add up. */
async function drive(
  label: string,
  nodes: Node[],
  op: 'GenerateDataKey' | 'CreateKey',
  keyId: string,
  total: number,
): Promise<Row> {
  const body = op === 'CreateKey' ? {} : { KeyId: keyId, KeySpec: 'AES_256' };
  const each = Math.max(1, Math.floor(total / nodes.length));
  const results: LoadResult[] = await Promise.all(
    nodes.map((n) =>
      runLoad({
        spec: spec(n.port, op, body),
        concurrency: each,
        durationMs: SECONDS * 1000,
        warmupMs: 1000,
        expectField: op === 'CreateKey' ? 'KeyMetadata' : 'KeyId',
      }),
    ),
  );
  const rps = results.reduce((a, r) => a + r.rps, 0);
  // Request-weighted median of the per-node medians (the nodes see the same load).
  const p50 =
    results.reduce((a, r) => a + r.p50Ms * r.requests, 0) /
    Math.max(
      1,
      results.reduce((a, r) => a + r.requests, 0),
    );
  const p99 = Math.max(...results.map((r) => r.p99Ms));
  const errors = results.reduce((a, r) => a + r.errors, 0);
  const row = { label, op, c: each * nodes.length, rps, p50, p99, errors };
  process.stdout.write(
    `${label.padEnd(34)} ${op.padEnd(16)} c=${String(row.c).padStart(2)}  ${rps.toFixed(0).padStart(6)} req/s  p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  errors ${errors}\n`,
  );
  if (results.some((r) => r.firstError !== undefined))
    process.stdout.write(`  first error: ${results.find((r) => r.firstError)?.firstError}\n`);
  return row;
}

async function newPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `keyhold_bench_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: PG_ADMIN });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Add keys (and one key version each) until the store holds `target` synthetic keys. */
async function fillPg(url: string, from: number, target: number): Promise<void> {
  const s = await PostgresStorage.open(url);
  const step = 100_000;
  for (let lo = from; lo < target; lo += step) {
    const hi = Math.min(target, lo + step);
    await s.db.query(
      `INSERT INTO keys (region, key_id, account_id, arn, description, key_state, key_spec, key_usage,
         origin, key_manager, multi_region, policy, creation_date, current_version_id, revision)
       SELECT $1, k, $2, 'arn:aws:kms:' || $1 || ':' || $2 || ':key/' || k, '', 'Enabled',
         'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS', 'CUSTOMER', false, '{}', 0, 'v1', 0
       FROM (SELECT md5('bench' || i) AS k FROM generate_series($3::int, $4::int - 1) i) g`,
      [REGION, ACCOUNT, lo, hi],
    );
    await s.db.query(
      `INSERT INTO key_versions (region, key_id, version_id, domain_key_id, ekt, created_at)
       SELECT $1, md5('bench' || i), 'v1', 'dk-bench', decode(md5(i::text), 'hex'), 0
       FROM generate_series($2::int, $3::int - 1) i`,
      [REGION, lo, hi],
    );
  }
  await s.db.query('ANALYZE');
  await s.close();
}

function fillSqlite(path: string, from: number, target: number): void {
  new SqliteStorage(path).close().catch(() => undefined); // migrate
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  const k = db.prepare(
    `INSERT INTO keys (region, key_id, account_id, arn, description, key_state, key_spec, key_usage,
       origin, key_manager, multi_region, policy, creation_date, current_version_id, revision)
     VALUES (?, ?, ?, ?, '', 'Enabled', 'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS', 'CUSTOMER', 0, '{}', 0, 'v1', 0)`,
  );
  const v = db.prepare(
    `INSERT INTO key_versions (region, key_id, version_id, domain_key_id, ekt, created_at) VALUES (?, ?, 'v1', 'dk-bench', ?, 0)`,
  );
  const ekt = randomBytes(60);
  const batch = db.transaction((lo: number, hi: number) => {
    for (let i = lo; i < hi; i++) {
      const id = `bench-${String(i).padStart(8, '0')}`;
      k.run(REGION, id, ACCOUNT, `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`);
      v.run(REGION, id, ekt);
    }
  });
  for (let lo = from; lo < target; lo += 100_000) batch(lo, Math.min(target, lo + 100_000));
  db.exec('ANALYZE');
  db.close();
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const sizeRows: Array<{ store: string; keys: number; gdk: Row; create: Row }> = [];

  // --- throughput: SQLite 1 node, PostgreSQL 1 node, PostgreSQL 2 nodes
  {
    const n = await startNode({ id: 'sqlite' });
    const key = await createKey(n.port);
    rows.push(await drive('SQLite, 1 node', [n], 'GenerateDataKey', key, 16));
    rows.push(await drive('SQLite, 1 node', [n], 'CreateKey', key, 16));
    await n.stop();
  }
  const db = await newPgDatabase();
  try {
    const a = await startNode({ id: 'bench-a', storageUrl: db.url });
    const key = await createKey(a.port);
    rows.push(await drive('PostgreSQL, 1 node', [a], 'GenerateDataKey', key, 16));
    rows.push(await drive('PostgreSQL, 1 node', [a], 'CreateKey', key, 16));
    const b = await startNode({ id: 'bench-b', storageUrl: db.url });
    rows.push(await drive('PostgreSQL, 2 nodes', [a, b], 'GenerateDataKey', key, 16));
    rows.push(await drive('PostgreSQL, 2 nodes', [a, b], 'CreateKey', key, 16));
    await b.stop();
    await a.stop();

    // --- latency vs store size (PostgreSQL, then SQLite)
    let have = 0;
    for (const size of [1_000, 100_000, 1_000_000].filter((s) => s <= MAX_KEYS)) {
      await fillPg(db.url, have, size);
      have = size;
      const n = await startNode({ id: 'bench-size', storageUrl: db.url });
      const k = await createKey(n.port);
      const gdk = await drive(`PostgreSQL, ${size} keys`, [n], 'GenerateDataKey', k, 1);
      const create = await drive(`PostgreSQL, ${size} keys`, [n], 'CreateKey', k, 1);
      sizeRows.push({ store: 'PostgreSQL', keys: size, gdk, create });
      await n.stop();
    }
  } finally {
    await db.drop();
  }
  {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-bench-sqlite-size-'));
    dirs.add(dataDir);
    let have = 0;
    for (const size of [1_000, 100_000, 1_000_000].filter((s) => s <= MAX_KEYS)) {
      fillSqlite(join(dataDir, 'keyhold.db'), have, size);
      have = size;
      const n = await startNode({ id: 'sqlite-size', dataDir });
      const k = await createKey(n.port);
      const gdk = await drive(`SQLite, ${size} keys`, [n], 'GenerateDataKey', k, 1);
      const create = await drive(`SQLite, ${size} keys`, [n], 'CreateKey', k, 1);
      sizeRows.push({ store: 'SQLite', keys: size, gdk, create });
      await n.stop();
    }
  }
  writeDoc(rows, sizeRows);
}

function writeDoc(
  rows: Row[],
  sizes: Array<{ store: string; keys: number; gdk: Row; create: Row }>,
): void {
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  const d = (n: number) => n.toFixed(2);
  const lines = [
    '<!-- bench-storage:begin (generated by npm run bench:storage; edits here are overwritten) -->',
    '',
    `Generated by \`npm run bench:storage\` (bench/storage.ts) on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} CPUs shared by the load generator, the keyhold processes and PostgreSQL 15 (same machine, local socket over TCP loopback, default settings, synchronous_commit on). ${SECONDS} s per row after 1 s warm-up; p50 is the median request latency.`,
    '',
    '| storage | operation | total c | req/s | p50 ms | p99 ms | errors |',
    '| --- | --- | --: | --: | --: | --: | --: |',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.op} | ${r.c} | ${f(r.rps)} | ${d(r.p50)} | ${d(r.p99)} | ${r.errors} |`,
    ),
    '',
    'Latency as the store grows (c = 1; the keys are bulk-inserted rows with one key version each; the measured key is a real one):',
    '',
    '| storage | keys in store | GenerateDataKey p50 ms | GenerateDataKey p99 ms | CreateKey p50 ms | CreateKey p99 ms |',
    '| --- | --: | --: | --: | --: | --: |',
    ...sizes.map(
      (s) =>
        `| ${s.store} | ${f(s.keys)} | ${d(s.gdk.p50)} | ${d(s.gdk.p99)} | ${d(s.create.p50)} | ${d(s.create.p99)} |`,
    ),
    '',
    '<!-- bench-storage:end -->',
  ];
  const block = lines.join('\n');
  let doc = readFileSync(DOC, 'utf8');
  const re = /<!-- bench-storage:begin[\s\S]*?<!-- bench-storage:end -->/;
  doc = re.test(doc)
    ? doc.replace(re, block)
    : `${doc.trimEnd()}\n\n## Storage: SQLite vs PostgreSQL, one node vs two, store size\n\n${block}\n`;
  writeFileSync(DOC, doc);
  process.stdout.write(`\nwrote ${DOC}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:storage failed: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
