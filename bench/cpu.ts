/**
 * `node dist/bench/cpu.js`: CPU time the server spends per request over HTTP (issue 13,
 * item 2), on a shared loaded machine where wall-clock figures are noise.
 *
 * A real `keyhold serve --workers 1` child (a supervising primary and one worker process) on
 * a fresh data dir (SQLite, software HSM, audit durable as always, quotas off), driven by
 * bench/load.ts at c=64 over keep-alive sockets. Per round and operation: the server's CPU
 * time (user + system of the primary and its worker, every thread: /proc/<pid>/stat) over
 * the measured window divided by the responses in it. The load generator runs in this
 * process and is not counted. Rounds rotate the operations; the table is the median over
 * CPU_ROUNDS rounds (min–max of the rounds).
 *
 * Env: CPU_ROUNDS (default 5), CPU_SECONDS (default 3), CPU_MAIN_JS (the keyhold to run,
 * default this build's; point it at another checkout's dist/src/cli/main.js to compare),
 * CPU_NODE_ARGS (node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`),
 * CPU_OPS (a comma-separated subset of the operations, e.g. to profile one).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad, signRequest } from './load.js';
import { freePort, httpStatus } from './net.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN_JS =
  process.env.CPU_MAIN_JS !== undefined && process.env.CPU_MAIN_JS !== ''
    ? process.env.CPU_MAIN_JS
    : resolve(HERE, '..', 'src', 'cli', 'main.js');
/** Extra node flags for the server (its cluster worker inherits them), e.g. `--cpu-prof`. */
const NODE_ARGS = (process.env.CPU_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const ROUNDS = Number(process.env.CPU_ROUNDS ?? 5);
const SECONDS = Number(process.env.CPU_SECONDS ?? 3);
const HOST = '127.0.0.1';
const REGION = 'us-east-1';
const CREDS = {
  accessKeyId: 'AKIACPUBENCH00000001',
  secretAccessKey: 'cpuBENCHcpuBENCHcpu/BENCHcpuBENCHcpuBENCH',
};
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

/** The pid and its descendants (the cluster worker). */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (kids !== '') out.push(...kids.split(/\s+/).map(Number));
    } catch {
      // gone
    }
  }
  return out;
}

/** User + system CPU seconds of the process tree (all threads). */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return ticks / TICKS_PER_SECOND;
}

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

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-cpu-'));
  const port = await freePort(HOST);
  const child = spawn(
    process.execPath,
    [
      ...NODE_ARGS,
      MAIN_JS,
      'serve',
      '--workers',
      '1',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
    ],
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
    const created = await post(port, 'CreateKey', {});
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
    const enc = { KeyId: keyId, Plaintext: randomBytes(1024).toString('base64') };
    const ct = await post(port, 'Encrypt', enc);
    const ops: Array<[string, object, string]> = [
      ['GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256' }, 'KeyId'],
      ['Encrypt', enc, 'CiphertextBlob'],
      ['Decrypt', { CiphertextBlob: ct.CiphertextBlob }, 'Plaintext'],
    ];
    const only = (process.env.CPU_OPS ?? '').split(',').filter((o) => o !== '');
    if (only.length > 0) ops.splice(0, ops.length, ...ops.filter(([op]) => only.includes(op)));
    const pids = tree(child.pid as number);
    const res = new Map<string, number[]>();
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < ops.length; i++) {
        const [op, body, field] = ops[(i + r) % ops.length] as [string, object, string];
        // The window: runLoad measures SECONDS after a 0.5 s warm-up; CPU is read around it.
        let c0 = 0;
        const t = setTimeout(() => (c0 = cpuSeconds(pids)), 500);
        const lr = await runLoad({
          spec: {
            host: HOST,
            port,
            region: REGION,
            credentials: CREDS,
            op,
            body: JSON.stringify(body),
          },
          concurrency: 64,
          durationMs: SECONDS * 1000,
          warmupMs: 500,
          expectField: field,
        });
        const c1 = cpuSeconds(pids);
        clearTimeout(t);
        if (lr.errors > 0) throw new Error(`${op}: ${lr.errors} errors (${lr.firstError ?? ''})`);
        const list = res.get(op) ?? [];
        list.push(((c1 - c0) * 1e6) / lr.requests);
        res.set(op, list);
      }
    }
    console.log(
      `Node ${process.version}, ${MAIN_JS}, ${ROUNDS} rounds × ${SECONDS} s at c=64, load average ${loadavg()[0]?.toFixed(1) ?? '?'}`,
    );
    console.log('| operation | server CPU µs/request, median (min–max) |\n| --- | --: |');
    for (const [op, xs] of res) {
      console.log(
        `| ${op} | ${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}) |`,
      );
    }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
