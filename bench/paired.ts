/**
 * `npm run bench:paired -- --baseline <checkout>`: keyhold against an earlier build of itself
 * and against a bare ceiling, in one paired run on this machine.
 *
 * - Starts three servers side by side: this build (`serve --workers N`, N = --workers or the
 *   number of cores), the baseline checkout's build (its own `dist/`, its defaults: one
 *   process before `--workers` existed) and a bare node:http server with the same number of
 *   processes (node:cluster) answering a fixed body. Each keyhold gets a fresh data dir with
 *   embedded SQLite + the software HSM, SigV4 and the audit log on as always, quotas off.
 * - For each scenario (GenerateDataKey, Encrypt 1 KiB, Decrypt at c=64 and c=1) it runs
 *   `--rounds` rounds; within a round the three targets run back to back in an order that
 *   rotates, so slow drift of the shared machine hits them alike. The table shows medians
 *   (and the range) of req/s and p50, the ratios, and the RSS of each keyhold per process.
 * - Load comes from wrk when BENCH_WRK=1 and wrk runs, else from bench/load.ts.
 *
 * The table is printed and written into docs/benchmarks.md between the
 * `paired:begin`/`paired:end` markers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { runLoad, runWrk, wrkWanted, type BenchCredentials, type LoadResult } from './load.js';
import { freePort } from './net.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const ROOT = resolve(HERE, '..', '..');
const HOST = '127.0.0.1';
const REGION = 'us-east-1';
const CREDS: BenchCredentials = {
  accessKeyId: 'AKIABENCHBENCHBENCH1',
  secretAccessKey: 'benchBENCHbench/BENCHbenchBENCHbench0000',
};

interface Target {
  name: string;
  child: ChildProcess;
  port: number;
  /** Output tail, for a target that dies. */
  output: () => string;
}

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function healthy(port: number): Promise<boolean> {
  return new Promise((done) => {
    const req = httpGet({ host: HOST, port, path: '/health', timeout: 1000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('error', () => done(false));
    req.on('timeout', () => req.destroy());
  });
}

async function start(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<Target> {
  const port = await freePort(HOST);
  const child = spawn(process.execPath, [...args, String(port)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let tail = '';
  const keep = (d: Buffer): void => void (tail = (tail + d.toString('utf8')).slice(-8192));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const deadline = Date.now() + 60_000;
  while (!(await healthy(port))) {
    if (child.exitCode !== null) throw new Error(`${name} exited:\n${tail}`);
    if (Date.now() > deadline) throw new Error(`${name} not healthy after 60 s:\n${tail}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name, child, port, output: () => tail };
}

function startKeyhold(name: string, root: string, workers: number | undefined): Promise<Target> {
  const main = join(root, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} not found: build that checkout first`);
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-paired-'));
  tempDirs.add(dataDir);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYHOLD_ACCESS_KEY_ID: CREDS.accessKeyId,
    KEYHOLD_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
    KEYHOLD_LOG_LEVEL: 'warn',
    KEYHOLD_QUOTAS: 'off',
  };
  delete env['KEYHOLD_ROOT_PASSPHRASE'];
  delete env['KEYHOLD_ROOT_PASSPHRASE_FILE'];
  delete env['KEYHOLD_WORKERS'];
  const args = [main, 'serve', '--data-dir', dataDir];
  if (workers !== undefined) args.push('--workers', String(workers));
  return start(name, [...args, '--port'], env);
}

/** The ceiling: `processes` node:http processes sharing the port, a fixed body each. */
function runBareServer(port: number, processes: number): void {
  if (cluster.isPrimary) {
    for (let i = 0; i < processes; i++) cluster.fork();
    const stop = (): void => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  const body = JSON.stringify({
    KeyId: `arn:aws:kms:${REGION}:111122223333:key/${randomUUID()}`,
    CiphertextBlob: randomBytes(160).toString('base64'),
    Plaintext: randomBytes(32).toString('base64'),
  });
  const length = Buffer.byteLength(body);
  createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (req.method === 'GET') return void res.writeHead(200).end('{"status":"ok"}');
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'Content-Type': 'application/x-amz-json-1.1',
        'Content-Length': length,
        'x-amzn-RequestId': randomUUID(),
      });
      res.end(body);
    });
  }).listen(port, HOST);
}

/** The pids of a process and its children (workers). */
function tree(pid: number): number[] {
  const out = [pid];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      for (const k of kids.split(/\s+/).filter(Boolean)) out.push(...tree(Number(k)));
    }
  } catch {
    // not Linux, or the process is gone
  }
  return out;
}

/** Resident set of each process of a tree, MB. */
function rssMb(pid: number): number[] {
  return tree(pid).map((p) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      return m === null ? NaN : Number(m[1]) / 1024;
    } catch {
      return NaN;
    }
  });
}

interface Bodies {
  GenerateDataKey: string;
  Encrypt: string;
  Decrypt: string;
}

/** A key and a 1 KiB ciphertext on one keyhold, through the SDK. */
async function prepare(t: Target): Promise<Bodies> {
  const client = new KMSClient({
    endpoint: `http://${HOST}:${t.port}`,
    region: REGION,
    credentials: CREDS,
  });
  const keyId = (await client.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId;
  if (keyId === undefined) throw new Error(`${t.name}: CreateKey returned no KeyId`);
  const plaintext = randomBytes(1024);
  const enc = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
  client.destroy();
  return {
    GenerateDataKey: JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' }),
    Encrypt: JSON.stringify({ KeyId: keyId, Plaintext: plaintext.toString('base64') }),
    Decrypt: JSON.stringify({
      CiphertextBlob: Buffer.from(enc.CiphertextBlob ?? new Uint8Array()).toString('base64'),
    }),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (n: number): string =>
  n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2);
const spread = (xs: number[]): string =>
  `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      baseline: { type: 'string' },
      workers: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '8' },
      'no-doc': { type: 'boolean', default: false },
    },
  });
  if (values.baseline === undefined) throw new Error('--baseline <built checkout> is required');
  const workers = Number(values.workers ?? availableParallelism());
  const rounds = Number(values.rounds);
  const durationMs = Number(values.seconds) * 1000;
  const useWrk = wrkWanted();
  const load = useWrk ? runWrk : runLoad;

  const baseRoot = resolve(values.baseline);
  const rev = spawnSync('git', ['-C', baseRoot, 'rev-parse', '--short', 'HEAD'], {
    encoding: 'utf8',
  });
  const baseRev = rev.status === 0 ? rev.stdout.trim() : baseRoot;
  const targets = [
    await startKeyhold('baseline', baseRoot, undefined),
    await startKeyhold('keyhold', ROOT, workers),
    await start('ceiling', [fileURLToPath(import.meta.url), '--bare-server', String(workers)], {
      ...process.env,
    }),
  ] as const;
  const bodies = [await prepare(targets[0]), await prepare(targets[1])];

  type Op = keyof Bodies;
  const scenarios: { op: Op; label: string; c: number; field: string }[] = [];
  for (const c of [64, 1])
    for (const [op, field] of [
      ['GenerateDataKey', 'CiphertextBlob'],
      ['Encrypt', 'CiphertextBlob'],
      ['Decrypt', 'Plaintext'],
    ] as const)
      scenarios.push({ op, label: op === 'GenerateDataKey' ? op : `${op} (1 KiB)`, c, field });

  const results = new Map<string, LoadResult[]>();
  const rss: number[] = [];
  let order = 0;
  for (let r = 0; r < rounds; r++) {
    for (const s of scenarios) {
      const idx = [0, 1, 2].map((i) => (i + order) % 3);
      order++;
      for (const i of idx) {
        const t = targets[i as 0 | 1 | 2];
        const body = i === 2 ? (bodies[1] as Bodies)[s.op] : (bodies[i] as Bodies)[s.op];
        const res = await load({
          spec: { host: HOST, port: t.port, region: REGION, credentials: CREDS, op: s.op, body },
          concurrency: s.c,
          durationMs,
          warmupMs: 1000,
          expectField: i === 2 ? 'KeyId' : s.field,
        });
        if (res.errors > 0) console.error(`# ${t.name} ${s.op} c=${s.c}: ${res.errors} errors`);
        const key = `${s.op}/${s.c}/${t.name}`;
        results.set(key, [...(results.get(key) ?? []), res]);
        if (i === 1 && s.c === 64) rss.push(...rssMb(t.child.pid as number));
        console.error(`# round ${r + 1} ${t.name} ${s.op} c=${s.c}: ${fmt(res.rps)} req/s`);
      }
    }
  }

  const lines = [
    `Generated by \`npm run bench:paired\` (bench/paired.ts) on ${new Date().toISOString().slice(0, 10)}: ` +
      `${rounds} rounds of ${durationMs / 1000} s per target and scenario (after 1 s warm-up), ` +
      `targets rotated within each round; load from ${useWrk ? 'wrk -t1' : 'bench/load.ts'}; ` +
      `2 CPUs shared by the generator and the servers. Baseline: \`${baseRev}\` (one process); ` +
      `keyhold: this build, \`serve --workers ${workers}\`; ceiling: bare node:http, ${workers} processes. ` +
      `Medians with (min–max) over the rounds.`,
    '',
    '| operation | c | baseline req/s | keyhold req/s | keyhold / baseline | ceiling req/s | keyhold / ceiling | baseline p50 ms | keyhold p50 ms |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const s of scenarios) {
    const get = (n: string): LoadResult[] => results.get(`${s.op}/${s.c}/${n}`) ?? [];
    const [b, k, c] = [get('baseline'), get('keyhold'), get('ceiling')];
    const rps = (xs: LoadResult[]): number[] => xs.map((x) => x.rps);
    const p50 = (xs: LoadResult[]): number[] => xs.map((x) => x.p50Ms);
    lines.push(
      `| ${s.label} | ${s.c} | ${spread(rps(b))} | ${spread(rps(k))} | ` +
        `${(median(rps(k)) / median(rps(b))).toFixed(2)}× | ${spread(rps(c))} | ` +
        `${Math.round((100 * median(rps(k))) / median(rps(c)))}% | ${spread(p50(b))} | ${spread(p50(k))} |`,
    );
  }
  const finite = rss.filter(Number.isFinite);
  lines.push(
    '',
    `keyhold RSS under load, per process (primary and workers): max ${fmt(Math.max(...finite))} MB, median ${fmt(median(finite))} MB.`,
  );
  const table = lines.join('\n');
  console.log(table);
  if (!values['no-doc']) {
    const doc = join(ROOT, 'docs', 'benchmarks.md');
    const text = readFileSync(doc, 'utf8');
    const begin =
      '<!-- paired:begin (generated by npm run bench:paired; edits here are overwritten) -->';
    const end = '<!-- paired:end -->';
    const a = text.indexOf(begin);
    const z = text.indexOf(end);
    const block = `${begin}\n\n${table}\n\n${end}`;
    writeFileSync(
      doc,
      a >= 0 && z > a
        ? text.slice(0, a) + block + text.slice(z + end.length)
        : `${text}\n${block}\n`,
    );
  }
}

function cleanup(): void {
  for (const c of children) c.kill('SIGTERM');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

const bareAt = process.argv.indexOf('--bare-server');
if (bareAt >= 0 || !cluster.isPrimary) {
  runBareServer(Number(process.argv[process.argv.length - 1]), Number(process.argv[bareAt + 1]));
} else {
  main().then(
    () => cleanup(),
    (e: unknown) => {
      console.error(e);
      cleanup();
      process.exitCode = 1;
    },
  );
}
