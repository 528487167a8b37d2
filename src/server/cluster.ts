/**
 * `keyhold serve --workers N`: the primary process only supervises. It forks worker 1 and
 * waits until it listens (so first-start work — migrations, the root key, the first domain
 * key, generated credentials, the seed file — happens once), then forks the others; each
 * worker is a full keyhold node on the shared port (node:cluster hands out connections
 * round-robin). A worker that dies is forked again with backoff; SIGTERM/SIGINT are passed
 * on and the primary exits once every worker has drained.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/config.js';
import { clusterMetricsSource, startMetricsListener } from '../metrics/http.js';
import type { KeyholdNode } from './app.js';

/** The environment variable the primary gives each worker its slot (1..N) by. */
export const WORKER_ID_ENV = 'KEYHOLD_WORKER_ID';

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  type: 'keyhold:ready';
  url: string;
  generatedCredentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  rootKeyCreated: boolean;
}

export interface ClusterStarted {
  first: WorkerReady;
  pids: number[];
  metricsUrl?: string | undefined;
}

export interface ClusterHooks {
  /** Every worker listens: print the banner. */
  started(info: ClusterStarted): void;
  /** A line for the operator (restarts, shutdown). */
  log(line: string): void;
}

/** A worker that exits this soon after it started counts as a failed start (backoff grows). */
const STABLE_AFTER_MS = 10_000;
const MAX_BACKOFF_MS = 5_000;
/** Past this, workers still draining are killed (each forces its own sockets after 10 s). */
const DRAIN_LIMIT_MS = 30_000;

/** The worker side: report readiness to the primary (the banner is printed there). */
export function reportReady(node: KeyholdNode): void {
  const ready: WorkerReady = {
    type: 'keyhold:ready',
    url: node.url,
    generatedCredentials: node.generatedCredentials,
    rootKeyCreated: node.rootKeyCreated,
  };
  process.send?.(ready);
}

function isReady(m: unknown): m is WorkerReady {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'keyhold:ready';
}

/** Fork worker `id`; resolves when it listens, rejects when it exits first. */
function fork(id: number): { worker: Worker; ready: Promise<WorkerReady> } {
  const worker = cluster.fork({ [WORKER_ID_ENV]: String(id) });
  const ready = new Promise<WorkerReady>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      if (!isReady(m)) return;
      worker.off('exit', onExit);
      worker.off('message', onMessage);
      resolve(m);
    };
    const onExit = (code: number | null, signal: string | null) => {
      worker.off('message', onMessage);
      reject(new Error(`worker ${id} exited during start (${signal ?? `code ${code}`})`));
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
  return { worker, ready };
}

/** Run the primary: returns the exit code once the workers have drained after a signal. */
export async function runPrimary(config: Readonly<Config>, hooks: ClusterHooks): Promise<number> {
  const slots = new Map<number, Worker>();
  let starting = true;
  let stopping = false;
  let exitCode = 0;
  let drained = () => {};
  const allDrained = new Promise<void>((resolve) => (drained = resolve));
  const checkDrained = () => {
    if (stopping && slots.size === 0) drained();
  };

  const supervise = (id: number, worker: Worker, failures: number) => {
    const startedAt = Date.now();
    slots.set(id, worker);
    worker.once('exit', (code, signal) => {
      if (slots.get(id) !== worker) return;
      if (stopping || starting) {
        // Stopping: one worker that did not drain cleanly makes the exit code 1.
        if (code !== 0) exitCode = 1;
        slots.delete(id);
        checkDrained();
        return;
      }
      const next = Date.now() - startedAt >= STABLE_AFTER_MS ? 0 : failures + 1;
      const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** next);
      hooks.log(
        `worker ${id} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}); ` +
          `restarting in ${delay} ms`,
      );
      setTimeout(() => restart(id, next), delay);
    });
  };

  const restart = (id: number, failures: number) => {
    if (stopping) return;
    const { worker, ready } = fork(id);
    supervise(id, worker, failures);
    ready.then(
      () => hooks.log(`worker ${id} restarted (pid ${worker.process.pid})`),
      () => undefined, // its exit handler schedules the next attempt
    );
  };

  let limit: NodeJS.Timeout | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    hooks.log(`${signal}: finishing in-flight requests and flushing the audit log`);
    for (const worker of slots.values()) worker.process.kill('SIGTERM');
    limit = setTimeout(() => {
      for (const worker of slots.values()) worker.process.kill('SIGKILL');
    }, DRAIN_LIMIT_MS);
    checkDrained();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const startFailed = async () => {
    // The worker printed why; stop the others that may be up.
    stopping = true;
    for (const worker of slots.values()) worker.process.kill('SIGTERM');
    checkDrained();
    await allDrained;
    return 1;
  };
  // Worker 1 alone first: it does the first-start work; the others find it done.
  const firstFork = fork(1);
  supervise(1, firstFork.worker, 0);
  let first: WorkerReady;
  try {
    first = await firstFork.ready;
    const rest = Array.from({ length: config.workers - 1 }, (_, i) => {
      const f = fork(i + 2);
      supervise(i + 2, f.worker, 0);
      return f.ready;
    });
    await Promise.all(rest);
  } catch {
    return startFailed();
  }
  starting = false;

  let closeMetrics: (() => Promise<void>) | undefined;
  let metricsUrl: string | undefined;
  if (config.metrics && !stopping) {
    const m = await startMetricsListener(
      config.metricsHost,
      config.metricsPort,
      clusterMetricsSource(),
    );
    metricsUrl = m.url;
    closeMetrics = m.close;
  }
  const pids = [...slots.entries()].sort(([a], [b]) => a - b).map(([, w]) => w.process.pid ?? 0);
  if (!stopping) hooks.started({ first, pids, metricsUrl });
  checkDrained();
  await allDrained;
  clearTimeout(limit);
  await closeMetrics?.();
  return exitCode;
}
