/**
 * `npm run bench`: throughput and latency of keyhold's hot operations, against the ceiling of
 * a bare Node HTTP server on the same machine.
 *
 * - Starts `node dist/src/cli/main.js serve` on a free port with a fresh data dir, creates a
 *   key and a ciphertext through the AWS SDK, then drives GenerateDataKey, Encrypt (1 KiB)
 *   and Decrypt at concurrency 1, 16 and 64 with the lean pre-signed generator (bench/load.ts).
 * - Starts a bare Node HTTP server (this file with `--bare-server`, in its own process) that
 *   reads each request body and answers with a fixed JSON body and the same headers, and
 *   drives the same load against it.
 * - Prints a markdown table (req/s, p50, p99, errors, ratio keyhold/ceiling) and writes it
 *   into docs/benchmarks.md between the `bench:begin`/`bench:end` markers (text outside
 *   them is kept).
 *
 * Flags: `--profile` adds a run of GenerateDataKey at c=64 against a server started with
 * `node --cpu-prof` and prints the top self-time functions; `--profile-only` does only that.
 * Env: BENCH_SECONDS (default 10) per measured run, after a 1 s warm-up; BENCH_WRK=1 uses
 * `wrk` for the measured window when it is on PATH; BENCH_WORKERS (default 1) starts the
 * server with `--workers N`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import { cpus, release, tmpdir, totalmem, type as osType } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudHsmScenarios, prepareCluster, type BenchCluster } from './cloudhsm.js';
import { startBenchXksProxy, xksScenarios, type BenchXks } from './xks.js';
import {
  CreateKeyCommand,
  EncryptCommand,
  KMSClient,
  SignCommand,
  type KeySpec,
  type KeyUsageType,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import {
  runLoad,
  runWrk,
  wrkWanted,
  type BenchCredentials,
  type LoadResult,
  type RequestSpec,
} from './load.js';
import { freePort } from './net.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const ROOT = resolve(HERE, '..', '..');
const MAIN_JS = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DOC = join(ROOT, 'docs', 'benchmarks.md');
const HOST = '127.0.0.1';
const REGION = 'us-east-1';
const CREDS: BenchCredentials = {
  accessKeyId: 'AKIABENCHBENCHBENCH1',
  secretAccessKey: 'benchBENCHbench/BENCHbenchBENCHbench0000',
};
const CONCURRENCIES = [1, 16, 64] as const;
/** Asymmetric and HMAC scenarios run at these only (keeps the bench short). */
const EXTRA_CONCURRENCIES = [16, 64] as const;
/** An IAM user (from a seed file) for the authorization scenario. */
const USER_CREDS: BenchCredentials = {
  accessKeyId: 'AKIABENCHUSER0000001',
  secretAccessKey: 'benchUSERbench/USERbenchUSERbenchUSER00',
};
const ACCOUNT = '111122223333';
const TARGET_RPS = 8000;
const TARGET_RATIO = 0.5;

// ---------------------------------------------------------------------------------------------
// Child processes: always killed on the way out.

const children = new Set<ChildProcess>();

function installCleanup(): void {
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    removeTempDirs();
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      void killAll().finally(() => process.exit(130));
    });
  }
}

/** Data dirs of running servers, removed on the way out. */
const tempDirs = new Set<string>();

function removeTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

async function killAll(graceMs = 3000): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c, graceMs)));
  removeTempDirs();
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(child);
      resolvePromise();
      return;
    }
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      children.delete(child);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}

interface Started {
  child: ChildProcess;
  port: number;
  /** Last output of the child (stdout + stderr), for error reports. */
  output: () => string;
}

function spawnTracked(args: string[], env: NodeJS.ProcessEnv): Omit<Started, 'port'> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString('utf8')).slice(-16_384);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', () => children.delete(child));
  return { child, output: () => tail };
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolvePromise) => {
    const req = httpGet(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode ?? 0);
    });
    req.on('error', () => resolvePromise(0));
    req.on('timeout', () => {
      req.destroy();
      resolvePromise(0);
    });
  });
}

async function waitHealthy(s: Started, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) {
      throw new Error(`${what} exited (${s.child.exitCode ?? s.child.signalCode}):\n${s.output()}`);
    }
    if ((await httpStatus(`http://${HOST}:${s.port}/health`)) === 200) return;
    if (Date.now() > deadline) throw new Error(`${what} not healthy after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A SoftHSM2 "cluster" for the CloudHSM-type scenarios (bench/cloudhsm.ts), if installed. */
/** The SoftHSM2 token of the running keyhold (a fresh one per start: connect rotates its PIN). */
let currentCluster: BenchCluster | undefined;
/** The XKS proxy of the running keyhold (external key store scenarios, bench/xks.ts). */
let currentXks: BenchXks | undefined;

async function startKeyhold(profileDir?: string): Promise<Started & { dataDir: string }> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} not found: run \`npm run build\``);
  const port = await freePort(HOST);
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-bench-'));
  tempDirs.add(dataDir);
  currentCluster = prepareCluster();
  if (currentCluster !== undefined) tempDirs.add(currentCluster.dir);
  currentXks?.child.kill('SIGKILL');
  currentXks = await startBenchXksProxy(
    MAIN_JS,
    await freePort(HOST),
    spawnTracked,
    (args, env) => {
      const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${args.slice(1).join(' ')} failed: ${r.stderr}`);
    },
  );
  for (const d of currentXks.dirs) tempDirs.add(d);
  const nodeFlags = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEYHOLD_ACCESS_KEY_ID: CREDS.accessKeyId,
    KEYHOLD_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
    KEYHOLD_LOG_LEVEL: 'warn',
    KEYHOLD_SEED_FILE: writeSeed(dataDir),
    KEYHOLD_BENCH_USER_SECRET: USER_CREDS.secretAccessKey,
    // The bench measures keyhold, not AWS's request quotas (which would cap it at 100,000/s
    // symmetric, 300/s ECC, 500/s RSA).
    KEYHOLD_QUOTAS: 'off',
    // One process unless asked (`serve` defaults to one worker per core): figures stay
    // comparable with earlier runs. With workers, "server CPU" counts the primary only.
    KEYHOLD_WORKERS: process.env.BENCH_WORKERS ?? '1',
    ...(currentCluster?.env ?? {}),
    ...currentXks.env,
  };
  delete env['KEYHOLD_ROOT_PASSPHRASE'];
  delete env['KEYHOLD_ROOT_PASSPHRASE_FILE'];
  const s = spawnTracked(
    [...nodeFlags, MAIN_JS, 'serve', '--port', String(port), '--data-dir', dataDir],
    env,
  );
  const started = { ...s, port, dataDir };
  await waitHealthy(started, 'keyhold');
  return started;
}

async function startBare(): Promise<Started> {
  const port = await freePort(HOST);
  const s = spawnTracked([fileURLToPath(import.meta.url), '--bare-server', String(port)], {
    ...process.env,
  });
  const started = { ...s, port };
  await waitHealthy(started, 'bare server');
  return started;
}

// ---------------------------------------------------------------------------------------------
// The bare server (ceiling): same framing and headers as keyhold, no work.

const BARE_BODY = JSON.stringify({
  KeyId: `arn:aws:kms:${REGION}:111122223333:key/${randomUUID()}`,
  CiphertextBlob: randomBytes(160).toString('base64'),
  Plaintext: randomBytes(32).toString('base64'),
});

const BARE_FIELDS = JSON.parse(BARE_BODY) as Record<string, unknown>;

function runBareServer(port: number): void {
  const body = BARE_BODY;
  const length = Buffer.byteLength(body);
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, {
        'Content-Type': 'application/x-amz-json-1.1',
        'Content-Length': length,
        'x-amzn-RequestId': randomUUID(),
      });
      res.end(body);
    });
  });
  server.listen(port, HOST);
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  op: 'GenerateDataKey' | 'Encrypt' | 'Decrypt' | 'Sign' | 'Verify' | 'GenerateMac';
  label: string;
  /** Who signs (default: the account root). */
  credentials?: BenchCredentials;
  /** Concurrencies to run (default: CONCURRENCIES). */
  concurrencies?: readonly number[];
  body: string;
  expectField: string;
}

/** A load result plus the server process's CPU use over the run, % of one core. */
type Measured = LoadResult & { serverCpuPct: number };

interface Row {
  scenario: Scenario;
  concurrency: number;
  keyhold: Measured;
  ceiling?: Measured;
}

let clkTck: number | undefined;

/** CPU time (user + system) of a process so far, in ms; NaN where /proc is not there. */
function procCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    if (clkTck === undefined) {
      const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
      clkTck = Number(r.stdout?.trim()) || 100;
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime); f[0] is field 3.
    return ((Number(f[11]) + Number(f[12])) * 1000) / clkTck;
  } catch {
    return NaN;
  }
}

/** A seed file with one IAM user whose identity policy allows the crypto calls. */
function writeSeed(dataDir: string): string {
  const path = join(dataDir, 'bench-seed.json');
  const allow = {
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'],
    Resource: `arn:aws:kms:*:${ACCOUNT}:key/*`,
  };
  writeFileSync(
    path,
    JSON.stringify({
      accounts: [
        {
          id: ACCOUNT,
          users: [
            {
              name: 'bench',
              accessKeys: [
                {
                  accessKeyId: USER_CREDS.accessKeyId,
                  secretAccessKeyEnv: 'KEYHOLD_BENCH_USER_SECRET',
                },
              ],
              policies: { crypto: { Version: '2012-10-17', Statement: [allow] } },
            },
          ],
          // The key-administrators statement of the realistic key policy names this role.
          roles: [
            {
              name: 'KeyAdmin',
              trustPolicy: {
                Version: '2012-10-17',
                Statement: [
                  { Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'sts:AssumeRole' },
                ],
              },
            },
          ],
        },
      ],
    }),
  );
  return path;
}

/**
 * A realistic key policy: root delegation to IAM, a key-administrators statement, and a
 * Deny with one condition (data keys only for the `app=bench` encryption context).
 */
function realisticKeyPolicy(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'Allow access for Key Administrators',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/KeyAdmin` },
        Action: [
          'kms:Create*',
          'kms:Describe*',
          'kms:Enable*',
          'kms:List*',
          'kms:Put*',
          'kms:Update*',
          'kms:Revoke*',
          'kms:Disable*',
          'kms:Get*',
          'kms:Delete*',
          'kms:ScheduleKeyDeletion',
          'kms:CancelKeyDeletion',
        ],
        Resource: '*',
      },
      {
        Sid: 'Only app=bench data keys',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:GenerateDataKey*',
        Resource: '*',
        Condition: { StringNotEquals: { 'kms:EncryptionContext:app': 'bench' } },
      },
    ],
  });
}

async function setup(port: number): Promise<Scenario[]> {
  const client = new KMSClient({
    endpoint: `http://${HOST}:${port}`,
    region: REGION,
    credentials: CREDS,
  });
  try {
    const created = await client.send(new CreateKeyCommand({ Description: 'keyhold bench' }));
    const keyId = created.KeyMetadata?.KeyId;
    if (keyId === undefined) throw new Error('CreateKey returned no KeyId');
    const plaintext = randomBytes(1024);
    const enc = await client.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
    if (enc.CiphertextBlob === undefined) throw new Error('Encrypt returned no CiphertextBlob');
    const blob = Buffer.from(enc.CiphertextBlob).toString('base64');
    const policied = await client.send(
      new CreateKeyCommand({ Description: 'keyhold bench (policy)', Policy: realisticKeyPolicy() }),
    );
    const policiedId = policied.KeyMetadata?.KeyId;
    if (policiedId === undefined) throw new Error('CreateKey returned no KeyId');
    const context = { app: 'bench' };
    const extra = await asymmetricScenarios(client);
    const cluster = currentCluster;
    const hsm =
      cluster === undefined
        ? []
        : await cloudHsmScenarios(client, cluster, (p) => readFileSync(p, 'utf8'));
    // The proxy shares the 2 cores with keyhold and the generator: c=1 and c=16 show the
    // added latency; c=64 would mostly measure the three processes' contention.
    const xks = currentXks === undefined ? [] : await xksScenarios(client, currentXks);
    return [
      {
        op: 'GenerateDataKey',
        label: 'GenerateDataKey (AES_256)',
        body: JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256' }),
        expectField: 'CiphertextBlob',
      },
      {
        op: 'GenerateDataKey',
        label: 'GenerateDataKey (AES_256, root, default policy, context)',
        body: JSON.stringify({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }),
        expectField: 'CiphertextBlob',
        concurrencies: [64],
      },
      {
        op: 'GenerateDataKey',
        label:
          'GenerateDataKey (AES_256, IAM user, 3-statement key policy + identity policy + condition)',
        body: JSON.stringify({ KeyId: policiedId, KeySpec: 'AES_256', EncryptionContext: context }),
        expectField: 'CiphertextBlob',
        credentials: USER_CREDS,
        concurrencies: [64],
      },
      {
        op: 'Encrypt',
        label: 'Encrypt (1 KiB)',
        body: JSON.stringify({ KeyId: keyId, Plaintext: plaintext.toString('base64') }),
        expectField: 'CiphertextBlob',
      },
      {
        op: 'Decrypt',
        label: 'Decrypt (1 KiB)',
        body: JSON.stringify({ CiphertextBlob: blob }),
        expectField: 'Plaintext',
      },
      ...hsm,
      ...xks.map((sc) => ({ ...sc, concurrencies: [1, 16] })),
      ...extra,
    ];
  } finally {
    client.destroy();
  }
}

async function createKeyOf(client: KMSClient, spec: KeySpec, usage: KeyUsageType): Promise<string> {
  const created = await client.send(
    new CreateKeyCommand({ Description: `keyhold bench ${spec}`, KeySpec: spec, KeyUsage: usage }),
  );
  const keyId = created.KeyMetadata?.KeyId;
  if (keyId === undefined) throw new Error(`CreateKey ${spec} returned no KeyId`);
  return keyId;
}

/** Sign and Verify (ECC_NIST_P256, RSA_2048) over a RAW 32-byte message, and GenerateMac. */
async function asymmetricScenarios(client: KMSClient): Promise<Scenario[]> {
  const message = randomBytes(32);
  const out: Scenario[] = [];
  const signing: [KeySpec, SigningAlgorithmSpec][] = [
    ['ECC_NIST_P256', 'ECDSA_SHA_256'],
    ['RSA_2048', 'RSASSA_PSS_SHA_256'],
  ];
  for (const [spec, alg] of signing) {
    const keyId = await createKeyOf(client, spec, 'SIGN_VERIFY');
    const signed = await client.send(
      new SignCommand({
        KeyId: keyId,
        Message: message,
        MessageType: 'RAW',
        SigningAlgorithm: alg,
      }),
    );
    if (signed.Signature === undefined) throw new Error(`Sign ${spec} returned no Signature`);
    const common = {
      KeyId: keyId,
      Message: message.toString('base64'),
      MessageType: 'RAW',
      SigningAlgorithm: alg,
    };
    out.push(
      {
        op: 'Sign',
        label: `Sign (${spec}, ${alg}, RAW 32 B)`,
        body: JSON.stringify(common),
        expectField: 'Signature',
        concurrencies: EXTRA_CONCURRENCIES,
      },
      {
        op: 'Verify',
        label: `Verify (${spec}, ${alg}, RAW 32 B)`,
        body: JSON.stringify({
          ...common,
          Signature: Buffer.from(signed.Signature).toString('base64'),
        }),
        expectField: 'SignatureValid',
        concurrencies: EXTRA_CONCURRENCIES,
      },
    );
  }
  const macKey = await createKeyOf(client, 'HMAC_256', 'GENERATE_VERIFY_MAC');
  out.push({
    op: 'GenerateMac',
    label: 'GenerateMac (HMAC_256, HMAC_SHA_256, 32 B)',
    body: JSON.stringify({
      KeyId: macKey,
      Message: message.toString('base64'),
      MacAlgorithm: 'HMAC_SHA_256',
    }),
    expectField: 'Mac',
    concurrencies: EXTRA_CONCURRENCIES,
  });
  return out;
}

function benchSeconds(): number {
  const raw = process.env['BENCH_SECONDS'];
  if (raw === undefined || raw === '') return 10;
  const n = Number(raw);
  if (!(n > 0) || n > 240) throw new Error('BENCH_SECONDS must be in (0, 240]');
  return n;
}

async function drive(server: Started, sc: Scenario, concurrency: number): Promise<Measured> {
  const pid = server.child.pid;
  const cpu0 = procCpuMs(pid);
  const t0 = performance.now();
  const r = await driveLoad(server.port, sc, concurrency);
  const wall = performance.now() - t0;
  return { ...r, serverCpuPct: (100 * (procCpuMs(pid) - cpu0)) / wall };
}

async function driveLoad(port: number, sc: Scenario, concurrency: number): Promise<LoadResult> {
  const spec: RequestSpec = {
    host: HOST,
    port,
    region: REGION,
    credentials: sc.credentials ?? CREDS,
    op: sc.op,
    body: sc.body,
  };
  const opts = {
    spec,
    concurrency,
    durationMs: Math.round(benchSeconds() * 1000),
    warmupMs: 1000,
    expectField: sc.expectField,
  };
  return useWrk ? runWrk(opts) : runLoad(opts);
}

let useWrk = false;

function describe(r: LoadResult): string {
  const parts = [
    `${fmtInt(r.rps)} req/s`,
    `p50 ${fmtMs(r.p50Ms)} ms`,
    `p99 ${fmtMs(r.p99Ms)} ms`,
    `${r.requests} responses in ${r.seconds.toFixed(1)} s`,
  ];
  if ('serverCpuPct' in r && Number.isFinite(r.serverCpuPct)) {
    parts.push(`server CPU ${(r.serverCpuPct as number).toFixed(0)}%`);
  }
  if (Number.isFinite(r.generatorCpuPct))
    parts.push(`generator CPU ${r.generatorCpuPct.toFixed(0)}%`);
  if (r.errors > 0) parts.push(`ERRORS ${r.errors} ${JSON.stringify(r.statuses)}`);
  if (r.socketErrors > 0) parts.push(`socket errors ${r.socketErrors}`);
  if (r.firstError !== undefined) parts.push(`first error: ${r.firstError}`);
  if (r.checkFailed !== undefined) parts.push(`CHECK FAILED: ${r.checkFailed}`);
  return parts.join(', ');
}

function flagged(r: LoadResult | undefined): boolean {
  return (
    r !== undefined &&
    (r.errors > 0 ||
      r.socketErrors > 0 ||
      r.checkFailed !== undefined ||
      r.firstError !== undefined)
  );
}

// ---------------------------------------------------------------------------------------------
// Profile

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

interface ProfileSummary {
  totalMs: number;
  /** True when only samples inside the measured window were counted. */
  windowed: boolean;
  top: { name: string; where: string; selfMs: number; pct: number }[];
  byArea: { area: string; selfMs: number; pct: number }[];
  /** keyhold's own functions by inclusive (self + callees) time. */
  inclusive: { name: string; where: string; pct: number }[];
}

function shortUrl(url: string): string {
  if (url === '') return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  if (u.startsWith(ROOT)) u = u.slice(ROOT.length + 1);
  return u;
}

function areaOf(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native / V8 builtins)';
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node:${m?.[1] ?? url}`;
  }
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  const parts = shortUrl(url).split('/');
  // dist/src/<area>/... → keyhold src/<area>
  if (parts[0] === 'dist' && parts[1] === 'src') return `keyhold src/${parts[2] ?? ''}`;
  return parts.join('/');
}

/**
 * Self time per function from a .cpuprofile (sample i's node is charged the interval up to
 * the next sample), restricted to [fromUs, toUs] on the monotonic clock when samples fall
 * there (V8's profile clock and process.hrtime are both CLOCK_MONOTONIC on Linux).
 */
export function summarizeProfile(
  p: CpuProfile,
  window?: { fromUs: number; toUs: number },
  topN = 15,
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const charge = (useWindow: boolean): Map<number, number> => {
    const m = new Map<number, number>();
    let t = p.startTime;
    for (let i = 0; i < samples.length; i++) {
      t += deltas[i] ?? 0;
      if (useWindow && window !== undefined && (t < window.fromUs || t > window.toUs)) continue;
      const id = samples[i] as number;
      const dt = Math.max(0, deltas[i + 1] ?? 0);
      m.set(id, (m.get(id) ?? 0) + dt);
    }
    return m;
  };
  let selfUs = charge(true);
  let windowed = window !== undefined;
  if (selfUs.size === 0) {
    selfUs = charge(false);
    windowed = false;
  }
  if (selfUs.size === 0) {
    // No samples array: fall back to hitCount.
    const interval = (p.endTime - p.startTime) / Math.max(1, p.nodes.length);
    for (const n of p.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * interval);
  }
  const keyOf = (n: ProfileNode): { key: string; name: string; where: string } => {
    const cf = n.callFrame;
    const name = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const where = cf.url === '' ? '' : `${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    return { key: `${name}@${where}`, name, where };
  };
  const fnTotals = new Map<string, { name: string; where: string; us: number }>();
  const incTotals = new Map<string, { name: string; where: string; us: number }>();
  const areaTotals = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const k = keyOf(n);
    const e = fnTotals.get(k.key) ?? { name: k.name, where: k.where, us: 0 };
    e.us += us;
    fnTotals.set(k.key, e);
    const area = areaOf(n.callFrame.url, k.name);
    areaTotals.set(area, (areaTotals.get(area) ?? 0) + us);
    total += us;
    // Inclusive: charge every distinct keyhold function on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const a = byId.get(cur);
      if (a === undefined) break;
      if (!areaOf(a.callFrame.url, '').startsWith('keyhold ')) continue;
      const ak = keyOf(a);
      if (seen.has(ak.key)) continue;
      seen.add(ak.key);
      const ie = incTotals.get(ak.key) ?? { name: ak.name, where: ak.where, us: 0 };
      ie.us += us;
      incTotals.set(ak.key, ie);
    }
  }
  const pct = (us: number): number => (total === 0 ? 0 : (100 * us) / total);
  const top = [...fnTotals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topN)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, pct: pct(e.us) }));
  const byArea = [...areaTotals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([area, us]) => ({ area, selfMs: us / 1000, pct: pct(us) }));
  const inclusive = [...incTotals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, 15)
    .map((e) => ({ name: e.name, where: e.where, pct: pct(e.us) }));
  return { totalMs: total / 1000, windowed, top, byArea, inclusive };
}

function profileMarkdown(s: ProfileSummary, r: LoadResult): string {
  let md = `GenerateDataKey at c=64 under \`node --cpu-prof\` (profiling slows the server): ${describe(r)}. `;
  md += s.windowed
    ? `Samples from the measured window only: ${fmtInt(s.totalMs)} ms of the server's main thread, wall clock (V8 samples on a timer, so time blocked in a synchronous call such as an fsync counts against the function making it; \`(idle)\` is the event loop waiting).\n\n`
    : `Samples from the whole server process life (start-up, key creation, warm-up, run): ${fmtInt(s.totalMs)} ms.\n\n`;
  md += '| # | self % | self ms | function | where |\n|---:|---:|---:|---|---|\n';
  s.top.forEach((t, i) => {
    md += `| ${i + 1} | ${t.pct.toFixed(1)} | ${fmtInt(t.selfMs)} | \`${t.name}\` | ${t.where === '' ? '' : `\`${t.where}\``} |\n`;
  });
  md += '\nSelf time by area:\n\n| area | self % |\n|---|---:|\n';
  for (const a of s.byArea) md += `| ${a.area} | ${a.pct.toFixed(1)} |\n`;
  md +=
    '\nkeyhold functions by inclusive time (self + callees):\n\n| incl. % | function | where |\n|---:|---|---|\n';
  for (const t of s.inclusive) md += `| ${t.pct.toFixed(1)} | \`${t.name}\` | \`${t.where}\` |\n`;
  return md;
}

async function profileRun(): Promise<{ md: string; summary: ProfileSummary; result: LoadResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-prof-'));
  const server = await startKeyhold(dir);
  let result: LoadResult;
  try {
    const scenarios = await setup(server.port);
    // BENCH_PROFILE_SCENARIO picks another scenario by index (0: GenerateDataKey as root).
    const gdk = scenarios[Number(process.env['BENCH_PROFILE_SCENARIO'] ?? 0)] as Scenario;
    process.stdout.write(`profiling ${gdk.label} c=64 ...\n`);
    result = await drive(server, gdk, 64);
  } finally {
    await stopChild(server.child);
    rmSync(server.dataDir, { recursive: true, force: true });
    tempDirs.delete(server.dataDir);
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) {
    throw new Error(`no .cpuprofile written in ${dir} (did the server exit cleanly?)`);
  }
  const profile = JSON.parse(readFileSync(join(dir, files[0] as string), 'utf8')) as CpuProfile;
  const summary = summarizeProfile(profile, {
    fromUs: result.windowStartUs,
    toUs: result.windowEndUs,
  });
  process.stdout.write(`profile: ${join(dir, files[0] as string)}\n`);
  return { md: profileMarkdown(summary, result), summary, result };
}

// ---------------------------------------------------------------------------------------------
// Output

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Server CPU time per request, µs (CPU over the run ÷ req/s in the window: approximate). */
function fmtUsPerReq(r: Measured): string {
  if (!Number.isFinite(r.serverCpuPct) || r.rps === 0) return '–';
  return fmtInt((r.serverCpuPct * 1e4) / r.rps);
}

function fmtPct(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(0)}%` : '–';
}

function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

function table(rows: Row[]): string {
  let md =
    '| operation | c | keyhold req/s | p50 ms | p99 ms | errors | server CPU | CPU µs/req | gen. CPU | ceiling req/s | ceiling p50 ms | ceiling p99 ms | keyhold / ceiling |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n';
  for (const r of rows) {
    const k = r.keyhold;
    const c = r.ceiling;
    const errs = `${k.errors + k.socketErrors}${flagged(k) ? ' ⚠' : ''}`;
    const ratio = c === undefined || c.rps === 0 ? '–' : `${((100 * k.rps) / c.rps).toFixed(0)}%`;
    md += `| ${r.scenario.label} | ${r.concurrency} | ${fmtInt(k.rps)} | ${fmtMs(k.p50Ms)} | ${fmtMs(k.p99Ms)} | ${errs} | ${fmtPct(k.serverCpuPct)} | ${fmtUsPerReq(k)} | ${fmtPct(k.generatorCpuPct)} | ${c === undefined ? '–' : fmtInt(c.rps)} | ${c === undefined ? '–' : fmtMs(c.p50Ms)} | ${c === undefined ? '–' : fmtMs(c.p99Ms)} | ${ratio}${flagged(c) ? ' ⚠' : ''} |\n`;
  }
  return md;
}

function verdict(rows: Row[]): string {
  const gdk = rows.find((r) => r.scenario.op === 'GenerateDataKey' && r.concurrency === 64);
  if (gdk === undefined) return '';
  const rps = gdk.keyhold.rps;
  const ratio = gdk.ceiling === undefined ? NaN : rps / gdk.ceiling.rps;
  const okRps = rps >= TARGET_RPS;
  const okRatio = ratio >= TARGET_RATIO;
  return (
    `Target (GenerateDataKey, c=64): ≥ ${fmtInt(TARGET_RPS)} req/s — ${okRps ? 'met' : 'NOT met'} (${fmtInt(rps)}); ` +
    `≥ ${TARGET_RATIO * 100}% of the ceiling — ${okRatio ? 'met' : 'NOT met'} (${Number.isFinite(ratio) ? (100 * ratio).toFixed(0) : '–'}%).` +
    (flagged(gdk.keyhold) ? ' The run had errors (⚠), so it does not count.' : '')
  );
}

function header(seconds: number): string {
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? 'unknown CPU';
  return [
    `Generated by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}.`,
    '',
    `- Machine: ${model}, ${cpu.length} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${osType()} ${release()}; Node ${process.version}.`,
    '- Server: `node dist/src/cli/main.js serve` on 127.0.0.1 with a fresh data dir (embedded SQLite + software HSM), SigV4 verification and the audit log on (as always), log level `warn`.',
    `- Load: ${useWrk ? '`wrk -t1` (measured window) after a lean warm-up' : 'bench/load.ts, a lean closed-loop generator'} in the same machine: each request is SigV4-signed once (re-signed every 60 s), sent as pre-built HTTP/1.1 bytes over one keep-alive socket per concurrency slot; responses are framed by status line and Content-Length only. The generator and the server share the ${cpu.length} CPUs.`,
    '- "server CPU" is the keyhold process\'s CPU time over the run (from /proc, % of one core; > 100% means work off the main thread: libuv pool, GC helpers) and "CPU µs/req" that divided by req/s; "gen. CPU" is the load generator\'s over the measured window.',
    `- Each row: 1 s warm-up, then ${seconds} s measured; req/s counts responses completed in the window; p50/p99 are per-request latencies (send → full response). Any non-200 is an error and flags the row (⚠).`,
    '- Requests: GenerateDataKey `{KeyId, KeySpec: AES_256}`; Encrypt `{KeyId, Plaintext: 1 KiB}`; Decrypt `{CiphertextBlob}` of a 1 KiB plaintext.',
    '- Ceiling: a bare `node:http` server in its own process that reads the body and answers every POST with a fixed ~300-byte JSON body and the same headers as keyhold (Content-Type, Content-Length, x-amzn-RequestId), under the same load. "keyhold / ceiling" is the ratio of req/s.',
  ].join('\n');
}

function writeDoc(generated: string): void {
  const begin = '<!-- bench:begin (generated by npm run bench; edits here are overwritten) -->';
  const end = '<!-- bench:end -->';
  let before = '# Benchmarks\n\n';
  let after = '\n';
  if (existsSync(DOC)) {
    const old = readFileSync(DOC, 'utf8');
    const b = old.indexOf('<!-- bench:begin');
    const e = old.indexOf(end);
    if (b >= 0 && e > b) {
      before = old.slice(0, b);
      after = old.slice(e + end.length);
    } else {
      before = `${old.trimEnd()}\n\n`;
    }
  }
  mkdirSync(dirname(DOC), { recursive: true });
  writeFileSync(DOC, `${before}${begin}\n${generated.trimEnd()}\n${end}${after}`);
  // Keep the doc as `prettier --check` wants it (prettier is a dev dependency; best effort).
  const prettier = join(ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
  if (existsSync(prettier))
    spawnSync(process.execPath, [prettier, '--write', DOC], { stdio: 'ignore' });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const bareAt = argv.indexOf('--bare-server');
  if (bareAt >= 0) {
    runBareServer(Number(argv[bareAt + 1]));
    return;
  }
  installCleanup();
  const profile = argv.includes('--profile') || argv.includes('--profile-only');
  const profileOnly = argv.includes('--profile-only');
  const seconds = benchSeconds();
  useWrk = wrkWanted();
  const out = process.stdout;
  out.write(
    `keyhold bench: ${seconds} s per run (+1 s warm-up), generator ${useWrk ? 'wrk' : 'lean'}\n`,
  );

  const rows: Row[] = [];
  let scenarios: Scenario[] = [];
  if (!profileOnly) {
    const server = await startKeyhold();
    try {
      scenarios = await setup(server.port);
      for (const sc of scenarios) {
        for (const c of sc.concurrencies ?? CONCURRENCIES) {
          const r = await drive(server, sc, c);
          out.write(`keyhold ${sc.label} c=${c}: ${describe(r)}\n`);
          rows.push({ scenario: sc, concurrency: c, keyhold: r });
        }
      }
    } finally {
      await stopChild(server.child);
      if (server.child.exitCode !== 0) {
        out.write(`keyhold exited with ${server.child.exitCode ?? server.child.signalCode}\n`);
      }
      rmSync(server.dataDir, { recursive: true, force: true });
      tempDirs.delete(server.dataDir);
    }

    const bare = await startBare();
    try {
      for (const row of rows) {
        // The bare server's one fixed body answers every op: check a field it has.
        const sc =
          row.scenario.expectField in BARE_FIELDS
            ? row.scenario
            : { ...row.scenario, expectField: 'KeyId' };
        const r = await drive(bare, sc, row.concurrency);
        out.write(`ceiling ${row.scenario.label} c=${row.concurrency}: ${describe(r)}\n`);
        row.ceiling = r;
      }
    } finally {
      await stopChild(bare.child);
    }
  }

  let profileMd = '';
  if (profile) {
    const p = await profileRun();
    out.write(`profiled run: ${describe(p.result)}\n`);
    out.write('\nTop self-time functions (keyhold, GenerateDataKey c=64, --cpu-prof):\n');
    for (const [i, t] of p.summary.top.entries()) {
      out.write(
        `${String(i + 1).padStart(2)}. ${t.pct.toFixed(1).padStart(5)}%  ${fmtInt(t.selfMs).padStart(7)} ms  ${t.name}  ${t.where}\n`,
      );
    }
    out.write('\nSelf time by area:\n');
    for (const a of p.summary.byArea) out.write(`  ${a.pct.toFixed(1).padStart(5)}%  ${a.area}\n`);
    out.write('\nkeyhold functions by inclusive time:\n');
    for (const t of p.summary.inclusive) {
      out.write(`  ${t.pct.toFixed(1).padStart(5)}%  ${t.name}  ${t.where}\n`);
    }
    out.write(
      p.summary.windowed
        ? '(samples from the measured window only)\n'
        : '(samples from the whole server life: window clock did not match)\n',
    );
    profileMd = p.md;
  }

  if (profileOnly) return;
  const tbl = table(rows);
  const v = verdict(rows);
  out.write(`\n${tbl}\n${v}\n`);
  const problems = rows.filter((r) => flagged(r.keyhold) || flagged(r.ceiling));
  let generated = `${header(seconds)}\n\n${tbl}\n${v}\n`;
  if (problems.length > 0) {
    generated += '\nProblems seen:\n\n';
    for (const r of problems) {
      const which = flagged(r.keyhold) ? r.keyhold : (r.ceiling as LoadResult);
      generated += `- ${flagged(r.keyhold) ? 'keyhold' : 'ceiling'} ${r.scenario.label} c=${r.concurrency}: ${describe(which)}\n`;
    }
  }
  if (profileMd !== '') generated += `\n### Profile\n\n${profileMd}`;
  writeDoc(generated);
  out.write(`\nwrote ${DOC}\n`);
}

// Stop what is left (the XKS proxy child outlives each keyhold run) so the process can exit.
main()
  .then(() => killAll())
  .catch(async (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    await killAll();
    process.exit(1);
  });
