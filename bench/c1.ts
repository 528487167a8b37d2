/**
 * `npm run bench:c1`: latency at concurrency 1 (issue 13 item 3) on the embedded default
 * (SQLite + software HSM, audit durably committed as always), and where it goes.
 *
 * 1. Over HTTP: a real `keyhold serve` child on a fresh data dir, driven by bench/load.ts at
 *    c=1 (one keep-alive socket): p50/p90/p99 of GenerateDataKey, Encrypt, Decrypt. Each
 *    round is C1_SECONDS measured after 0.5 s warm-up; rounds rotate the operations; the
 *    table gives the median over C1_ROUNDS rounds (min–max of the round p50s).
 * 2. In-process breakdown (no sockets, as bench/stages.ts): the real API handler driven with
 *    pre-signed requests one at a time, with timestamps taken by hooks on AuditLog.record
 *    and ThreadedAuditRepository.appendAudit:
 *      before audit  = handler start → record() called (SigV4, JSON, validation, operation)
 *      audit wait    = record() called → its promise resolved
 *        of which writer round trip = appendAudit() called → resolved (postMessage to the
 *        audit writer thread, its SQLite transaction + WAL fsync, the reply)
 *        and the rest = the setImmediate that gathers a group + chain HMAC + head MAC
 *      after audit   = record() resolved → handler done (response JSON and write)
 *    Run three times: durable (as is); the O_DSYNC segment experiment (SEGMENT_WORKER); and
 *    with appendAudit answered at once without writing (a bench-only floor: what the request
 *    costs with no audit commit at all).
 * 3. Disk and thread primitives on the same file system (the data dir's tmpdir), one
 *    operation at a time: SQLite commit of one audit row in audit.db (WAL, synchronous=FULL)
 *    on this thread; a worker_threads postMessage round trip; a 1 KiB append + fdatasync on a
 *    plain file; a 1 KiB pwrite into a pre-allocated file opened O_DSYNC. These price the
 *    designs of docs/benchmarks.md "Latency at c=1".
 *
 * Env: C1_ROUNDS (default 5), C1_SECONDS (HTTP, default 3), C1_N (in-process requests per
 * round and op, default 1500), C1_SKIP_HTTP=1.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsc,
  fdatasyncSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { AuditLog } from '../src/audit/audit-log.js';
import type { AuditInput } from '../src/audit/event.js';
import { loadConfig } from '../src/config/config.js';
import { startKeyhold, type KeyholdNode } from '../src/server/app.js';
import type { AuditHead, AuditRow } from '../src/storage/repository.js';
import { openAuditDb } from '../src/storage/sqlite/audit-db.js';
import { SqliteAuditRepository } from '../src/storage/sqlite/sqlite-audit.js';
import { ThreadedAuditRepository } from '../src/storage/sqlite/threaded-audit-repository.js';
import { runLoad, signRequest } from './load.js';
import { freePort, httpStatus } from './net.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN_JS = resolve(HERE, '..', 'src', 'cli', 'main.js');
const ROUNDS = Number(process.env.C1_ROUNDS ?? 5);
const SECONDS = Number(process.env.C1_SECONDS ?? 3);
const N = Number(process.env.C1_N ?? 1500);
const HOST = '127.0.0.1';
const REGION = 'us-east-1';
const CREDS = {
  accessKeyId: 'AKIAC1BENCH000000001',
  secretAccessKey: 'c1BENCHc1BENCHc1/BENCHc1BENCHc1BENCH0000',
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const pct = (sorted: Float64Array | number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const ms = (v: number): string => (v < 10 ? v.toFixed(3) : v.toFixed(1));
const range = (xs: number[]): string => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`;

// ---------------------------------------------------------------- 1. over HTTP

async function post(port: number, op: string, body: object): Promise<Record<string, unknown>> {
  const text = JSON.stringify(body);
  const s = await signRequest({
    host: HOST,
    port,
    region: REGION,
    credentials: CREDS,
    op,
    body: text,
  });
  const r = await fetch(`http://${HOST}:${port}/`, {
    method: 'POST',
    headers: s.headers,
    body: text,
  });
  const out = (await r.json()) as Record<string, unknown>;
  if (r.status !== 200) throw new Error(`${op}: ${r.status} ${JSON.stringify(out)}`);
  return out;
}

interface Bodies {
  keyId: string;
  gdk: object;
  enc: object;
  dec: object;
}

async function bodies(
  call: (op: string, body: object) => Promise<Record<string, unknown>>,
): Promise<Bodies> {
  const created = await call('CreateKey', {});
  const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
  const plaintext = randomBytes(1024).toString('base64');
  const enc = { KeyId: keyId, Plaintext: plaintext };
  const ct = await call('Encrypt', enc);
  return {
    keyId,
    gdk: { KeyId: keyId, KeySpec: 'AES_256' },
    enc,
    dec: { CiphertextBlob: ct.CiphertextBlob },
  };
}

async function overHttp(lines: string[]): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-c1-'));
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
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const deadline = Date.now() + 60_000;
    while ((await httpStatus(`http://${HOST}:${port}/ready`)) !== 200) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error('keyhold did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const b = await bodies((op, body) => post(port, op, body));
    const ops: Array<[string, object, string]> = [
      ['GenerateDataKey', b.gdk, 'KeyId'],
      ['Encrypt', b.enc, 'CiphertextBlob'],
      ['Decrypt', b.dec, 'Plaintext'],
    ];
    const res = new Map<string, { p50: number[]; p90: number[]; p99: number[]; n: number }>();
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < ops.length; i++) {
        const [op, body, field] = ops[(i + r) % ops.length] as [string, object, string];
        const lr = await runLoad({
          spec: {
            host: HOST,
            port,
            region: REGION,
            credentials: CREDS,
            op,
            body: JSON.stringify(body),
          },
          concurrency: 1,
          durationMs: SECONDS * 1000,
          warmupMs: 500,
          expectField: field,
        });
        if (lr.errors > 0) throw new Error(`${op}: ${lr.errors} errors (${lr.firstError ?? ''})`);
        const e = res.get(op) ?? { p50: [], p90: [], p99: [], n: 0 };
        e.p50.push(lr.p50Ms);
        e.p90.push(lr.p90Ms);
        e.p99.push(lr.p99Ms);
        e.n += lr.requests;
        res.set(op, e);
        process.stderr.write(`http ${op} round ${r + 1}: p50 ${ms(lr.p50Ms)} ms\n`);
      }
    }
    lines.push(
      `### Over HTTP (keyhold serve, c=1, one keep-alive socket; ${ROUNDS} rounds × ${SECONDS} s; medians of the rounds' percentiles)`,
      '',
      '| operation | p50 ms | p90 ms | p99 ms | p50 min–max of rounds | requests |',
      '| --- | --: | --: | --: | --: | --: |',
    );
    for (const [op] of ops) {
      const e = res.get(op);
      if (e === undefined) continue;
      lines.push(
        `| ${op} | ${ms(median(e.p50))} | ${ms(median(e.p90))} | ${ms(median(e.p99))} | ${range(e.p50)} | ${e.n} |`,
      );
    }
    lines.push('');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- 2. in-process breakdown

interface Signed {
  headers: Record<string, string>;
  body: Buffer;
}

async function sign(op: string, body: object): Promise<Signed> {
  const text = JSON.stringify(body);
  const s = await signRequest({
    host: HOST,
    port: 8420,
    region: REGION,
    credentials: CREDS,
    op,
    body: text,
  });
  return {
    headers: { ...s.headers, 'content-length': String(Buffer.byteLength(text)) },
    body: Buffer.from(text, 'utf8'),
  };
}

async function call(node: KeyholdNode, s: Signed): Promise<{ status: number; text: string }> {
  const req = new IncomingMessage(new Socket());
  req.method = 'POST';
  req.url = '/';
  req.headers = { ...s.headers };
  req.push(Buffer.from(s.body));
  req.push(null);
  const res = new ServerResponse(req);
  let text = '';
  const end = res.end.bind(res) as (chunk: string) => ServerResponse;
  res.end = ((chunk: string) => {
    text = chunk;
    return end(chunk);
  }) as typeof res.end;
  await node.handleApi(req, res);
  return { status: res.statusCode, text };
}

/** Timestamps (ns) of the request in flight, set by the hooks. */
const marks = { record: 0n, recorded: 0n, append: 0n, appended: 0n };
type Mode = 'durable' | 'no commit' | 'segment';
let mode: Mode = 'durable';

/**
 * The experiment of docs/benchmarks.md "Latency at c=1" (bench only, not in keyhold): the
 * writer thread appends each group's rows as one pwrite into a pre-allocated file opened
 * O_DSYNC (the write returns once the data is on stable storage), instead of a SQLite
 * transaction; audit.db would be filled from the segment afterwards.
 */
const SEGMENT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const size = 64 * 1024 * 1024;
const fd = fs.openSync(workerData.path, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_DSYNC);
const z = Buffer.alloc(1024 * 1024);
for (let off = 0; off < size; off += z.length) fs.writeSync(fd, z, 0, z.length, off);
fs.fdatasyncSync(fd);
let off = 0;
parentPort.postMessage('ready');
parentPort.on('message', (m) => {
  if (m === 'close') { fs.closeSync(fd); parentPort.close(); return; }
  const buf = Buffer.from(m.text, 'utf8');
  if (off + buf.length > size) off = 0;
  fs.writeSync(fd, buf, 0, buf.length, off);
  off += buf.length;
  parentPort.postMessage(m.id);
});
`;
let segment: { worker: Worker; next: number; waiting: Map<number, () => void> } | undefined;

async function openSegment(dir: string): Promise<void> {
  const worker = new Worker(SEGMENT_WORKER, {
    eval: true,
    workerData: { path: join(dir, 'audit.seg') },
  });
  await new Promise<void>((res) => worker.once('message', () => res()));
  const waiting = new Map<number, () => void>();
  worker.on('message', (id: number) => {
    waiting.get(id)?.();
    waiting.delete(id);
  });
  segment = { worker, next: 1, waiting };
}

function segmentAppend(rows: AuditRow[], head: AuditHead): Promise<void> {
  const s = segment as NonNullable<typeof segment>;
  const id = s.next++;
  let text = '';
  for (const r of rows) text += `${r.seq}\t${r.chainHash.toString('hex')}\t${r.body}\n`;
  text += `head\t${head.seq}\t${head.mac.toString('hex')}\n`;
  return new Promise((res) => {
    s.waiting.set(id, res);
    s.worker.postMessage({ id, text });
  });
}

function installHooks(): void {
  const record = AuditLog.prototype.record;
  AuditLog.prototype.record = function (this: AuditLog, input: AuditInput): Promise<void> {
    marks.record = process.hrtime.bigint();
    return record.call(this, input).then(() => {
      marks.recorded = process.hrtime.bigint();
    });
  };
  const append = ThreadedAuditRepository.prototype.appendAudit;
  ThreadedAuditRepository.prototype.appendAudit = function (
    this: ThreadedAuditRepository,
    rows: AuditRow[],
    head: AuditHead,
  ): Promise<void> {
    marks.append = process.hrtime.bigint();
    const p =
      mode === 'no commit'
        ? Promise.resolve()
        : mode === 'segment'
          ? segmentAppend(rows, head)
          : append.call(this, rows, head);
    return p.then(() => {
      marks.appended = process.hrtime.bigint();
    });
  };
}

const STAGES = [
  'total',
  'before audit',
  'audit wait',
  'writer round trip',
  'audit rest',
  'after audit',
] as const;
type Stage = (typeof STAGES)[number];

async function breakdownRound(
  node: KeyholdNode,
  s: Signed,
  n: number,
): Promise<Record<Stage, Float64Array>> {
  const out = Object.fromEntries(STAGES.map((k) => [k, new Float64Array(n)])) as Record<
    Stage,
    Float64Array
  >;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = await call(node, s);
    const t1 = process.hrtime.bigint();
    if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
    const d = (a: bigint, b: bigint) => Number(b - a) / 1e6;
    out.total[i] = d(t0, t1);
    out['before audit'][i] = d(t0, marks.record);
    out['audit wait'][i] = d(marks.record, marks.recorded);
    out['writer round trip'][i] = d(marks.append, marks.appended);
    out['audit rest'][i] = d(marks.record, marks.recorded) - d(marks.append, marks.appended);
    out['after audit'][i] = d(marks.recorded, t1);
  }
  for (const k of STAGES) out[k].sort();
  return out;
}

async function inProcess(lines: string[]): Promise<void> {
  installHooks();
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-c1-inproc-'));
  const config = loadConfig(
    { port: 0, dataDir },
    {
      KEYHOLD_ACCESS_KEY_ID: CREDS.accessKeyId,
      KEYHOLD_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
      KEYHOLD_REGION: REGION,
      KEYHOLD_QUOTAS: 'off',
      KEYHOLD_METRICS: 'off',
    },
  );
  const node = await startKeyhold(config, { logger: pino({ level: 'warn' }), jobIntervalMs: 0 });
  try {
    const b = await bodies(async (op, body) => {
      const r = await call(node, await sign(op, body));
      if (r.status !== 200) throw new Error(`${op}: ${r.status} ${r.text}`);
      return JSON.parse(r.text) as Record<string, unknown>;
    });
    const reqs: Array<[string, Signed]> = [
      ['GenerateDataKey', await sign('GenerateDataKey', b.gdk)],
      ['Encrypt', await sign('Encrypt', b.enc)],
      ['Decrypt', await sign('Decrypt', b.dec)],
    ];
    await openSegment(dataDir);
    for (const which of ['durable', 'segment', 'no commit'] as const) {
      mode = which;
      // per op → stage → percentile → one value per round
      const acc = new Map<string, Map<Stage, { p50: number[]; p90: number[]; p99: number[] }>>();
      for (const [, s] of reqs) await breakdownRound(node, s, 200); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        for (let i = 0; i < reqs.length; i++) {
          const [op, s] = reqs[(i + r) % reqs.length] as [string, Signed];
          const got = await breakdownRound(node, s, N);
          const m = acc.get(op) ?? new Map();
          for (const k of STAGES) {
            const e = m.get(k) ?? { p50: [], p90: [], p99: [] };
            e.p50.push(pct(got[k], 0.5));
            e.p90.push(pct(got[k], 0.9));
            e.p99.push(pct(got[k], 0.99));
            m.set(k, e);
          }
          acc.set(op, m);
          process.stderr.write(
            `in-process ${which} ${op} round ${r + 1}: p50 ${ms(pct(got.total, 0.5))} ms\n`,
          );
        }
      }
      lines.push(
        which === 'durable'
          ? `### In-process, audit durable as always (no sockets; ${ROUNDS} rounds × ${N} requests per op; ms, median of the rounds' p50 / p90 / p99)`
          : which === 'segment'
            ? '### In-process, experiment: each group one pwrite into a pre-allocated O_DSYNC segment in the writer thread instead of the SQLite commit (bench only)'
            : '### In-process, appendAudit answered without writing (bench-only floor, NOT a keyhold mode)',
        '',
        '| stage | GenerateDataKey p50 / p90 / p99 | Encrypt p50 / p90 / p99 | Decrypt p50 / p90 / p99 |',
        '| --- | --: | --: | --: |',
      );
      for (const k of STAGES) {
        const cells = reqs.map(([op]) => {
          const e = acc.get(op)?.get(k);
          return e === undefined
            ? '–'
            : `${ms(median(e.p50))} / ${ms(median(e.p90))} / ${ms(median(e.p99))}`;
        });
        lines.push(`| ${k} | ${cells.join(' | ')} |`);
      }
      lines.push('');
    }
    mode = 'durable';
    segment?.worker.postMessage('close');
    await segment?.worker.terminate();
  } finally {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- 3. primitives

const ECHO_WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (m) => { if (m === 'close') parentPort.close(); else parentPort.postMessage(m); });
`;

async function timeEach(n: number, fn: () => unknown): Promise<Float64Array> {
  for (let i = 0; i < Math.min(200, n); i++) await fn();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    out[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return out.sort();
}

async function primitives(lines: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-c1-prim-'));
  const n = Math.max(500, Math.floor(N / 2));
  const body = 'x'.repeat(1000);
  const rows: Array<[string, { p50: number[]; p90: number[]; p99: number[] }]> = [];
  const add = (name: string, xs: Float64Array) => {
    let e = rows.find((r) => r[0] === name)?.[1];
    if (e === undefined) {
      e = { p50: [], p90: [], p99: [] };
      rows.push([name, e]);
    }
    e.p50.push(pct(xs, 0.5));
    e.p90.push(pct(xs, 0.9));
    e.p99.push(pct(xs, 0.99));
  };
  try {
    const db = openAuditDb(join(dir, 'audit.db'));
    const repo = new SqliteAuditRepository(db);
    let seq = 0;
    const hash = randomBytes(32);
    const worker = new Worker(ECHO_WORKER, { eval: true });
    const echo = (m: unknown) =>
      new Promise<void>((res) => {
        worker.once('message', () => res());
        worker.postMessage(m);
      });
    const plain = openSync(join(dir, 'append.log'), 'a');
    const seg = openSync(join(dir, 'segment.dsync'), fsc.O_RDWR | fsc.O_CREAT | fsc.O_DSYNC);
    const segBytes = 64 * 1024 * 1024;
    ftruncateSync(seg, segBytes);
    {
      // Pre-allocate for real (ftruncate leaves a hole: the first write of each block would
      // also allocate, and O_DSYNC would then flush metadata too).
      const z = Buffer.alloc(1024 * 1024);
      for (let off = 0; off < segBytes; off += z.length) writeSync(seg, z, 0, z.length, off);
      fdatasyncSync(seg);
    }
    let segOff = 0;
    const chunk = Buffer.alloc(1024, 0x61);
    const row = (): AuditRow => ({
      seq: ++seq,
      eventId: `ev-${seq}`,
      eventTime: new Date().toISOString(),
      eventName: 'GenerateDataKey',
      principalArn: 'arn:aws:iam::111122223333:root',
      keyArns: 'arn:aws:kms:us-east-1:111122223333:key/x',
      body,
      chainHash: hash,
    });
    for (let r = 0; r < ROUNDS; r++) {
      add(
        'SQLite commit of one audit row (audit.db, WAL, synchronous=FULL), this thread',
        await timeEach(n, () => repo.appendAudit([row()], { seq, chainHash: hash, mac: hash })),
      );
      add(
        'worker_threads postMessage round trip (1 KiB payload)',
        await timeEach(n, () => echo(body)),
      );
      add(
        '1 KiB append + fdatasync, plain file',
        await timeEach(n, () => {
          writeSync(plain, chunk);
          fdatasyncSync(plain);
        }),
      );
      add(
        '1 KiB pwrite, pre-allocated file opened O_DSYNC',
        await timeEach(n, () => {
          writeSync(seg, chunk, 0, chunk.length, segOff);
          segOff = (segOff + chunk.length) % segBytes;
        }),
      );
      process.stderr.write(`primitives round ${r + 1}\n`);
    }
    worker.postMessage('close');
    await worker.terminate();
    closeSync(plain);
    closeSync(seg);
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  lines.push(
    `### Primitives (${ROUNDS} rounds × ${n}, one at a time; ms, median of the rounds)`,
    '',
    '| primitive | p50 | p90 | p99 |',
    '| --- | --: | --: | --: |',
  );
  for (const [name, e] of rows)
    lines.push(`| ${name} | ${ms(median(e.p50))} | ${ms(median(e.p90))} | ${ms(median(e.p99))} |`);
  lines.push('');
}

async function main(): Promise<void> {
  const lines: string[] = [
    `Generated by \`npm run bench:c1\` (bench/c1.ts) at ${new Date().toISOString().slice(0, 16)} UTC; Node ${process.version}, ${cpus().length} CPUs, load average at start ${loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}; data dir under ${tmpdir()}.`,
    '',
  ];
  if (process.env.C1_SKIP_HTTP !== '1') await overHttp(lines);
  await inProcess(lines);
  await primitives(lines);
  console.log(lines.join('\n'));
}

await main();
