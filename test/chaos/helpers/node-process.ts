/**
 * A keyhold node as a real child process (`keyhold serve --port 0`), so that SIGKILL is a
 * real kill -9: no shutdown hook, no flush, whatever the OS had not been told to write is gone.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { KMSClient } from '@aws-sdk/client-kms';

export const MAIN = 'dist/src/cli/main.js';
export const CHAOS_ACCESS_KEY_ID = 'AKIACHAOSTESTCHAOS01';
export const CHAOS_SECRET_ACCESS_KEY = 'chaosTestSecretKey0123456789abcdefghijkl';
export const CHAOS_REGION = 'us-east-1';
/** Not a secret: a test passphrase, so the nodes run the production root-key path. */
export const CHAOS_ROOT_PASSPHRASE = 'chaos-test-root-passphrase-not-a-secret';

export interface NodeOptions {
  dataDir: string;
  /** PostgreSQL URL (KEYHOLD_STORAGE_URL); SQLite in dataDir when absent. */
  storageUrl?: string | undefined;
  env?: Record<string, string>;
  /** `serve --workers N` (default 1: one process). */
  workers?: number;
}

function serveArgs(opts: NodeOptions): string[] {
  return [MAIN, 'serve', '--port', '0', '--workers', String(opts.workers ?? 1)];
}

/** SIGKILL the node's whole process group: with workers, the primary and every worker at once. */
function killGroup(child: ChildProcess): void {
  try {
    process.kill(-(child.pid as number), 'SIGKILL');
  } catch {
    child.kill('SIGKILL'); // already gone
  }
}

export function nodeEnv(opts: NodeOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KEYHOLD_LOG_LEVEL: 'warn',
    KEYHOLD_DATA_DIR: opts.dataDir,
    KEYHOLD_ACCESS_KEY_ID: CHAOS_ACCESS_KEY_ID,
    KEYHOLD_SECRET_ACCESS_KEY: CHAOS_SECRET_ACCESS_KEY,
    KEYHOLD_ROOT_PASSPHRASE: CHAOS_ROOT_PASSPHRASE,
    KEYHOLD_REGION: CHAOS_REGION,
    // The load is far past AWS's per-second quotas, which are not what these tests are about.
    KEYHOLD_QUOTAS: 'off',
    ...(opts.storageUrl !== undefined ? { KEYHOLD_STORAGE_URL: opts.storageUrl } : {}),
    ...opts.env,
  };
}

export class KeyholdProcess {
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    private readonly output: () => string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else
        child.once('exit', (code) => {
          this.exitCode = code;
          resolve(code);
        });
    });
  }

  /** Start a node and wait for its banner (the port it got). */
  static start(opts: NodeOptions, timeoutMs = 30_000): Promise<KeyholdProcess> {
    // Its own process group, so that kill9 reaches the workers too.
    const child = spawn(process.execPath, serveArgs(opts), {
      env: nodeEnv(opts),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        killGroup(child);
        reject(new Error(`keyhold did not start in ${timeoutMs} ms: ${out}`));
      }, timeoutMs);
      const onExit = (code: number | null) => {
        clearTimeout(timer);
        reject(new Error(`keyhold exited with ${code} before listening: ${out}`));
      };
      child.once('exit', onExit);
      child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /keyhold listening on (http:\/\/[\d.]+:\d+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(new KeyholdProcess(child, m[1] as string, () => out));
        }
      });
    });
  }

  /**
   * Start a node and kill -9 it after `ms`, whether or not it is listening yet: a crash in
   * the middle of start-up (migrations, WAL recovery, domain-key bootstrap).
   */
  static async killDuringStart(opts: NodeOptions, ms: number): Promise<void> {
    const child = spawn(process.execPath, serveArgs(opts), {
      env: nodeEnv(opts),
      stdio: 'ignore',
      detached: true,
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, ms));
    killGroup(child);
    await exited;
  }

  get log(): string {
    return this.output();
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** kill -9: the process gets no chance to flush or close anything. */
  async kill9(): Promise<void> {
    // The workers die with the primary (at once: one signal to the group); their zombies
    // may wait a moment to be reaped, but hold no file lock or socket.
    killGroup(this.child);
    await this.exited;
  }

  /** A clean stop (SIGTERM); resolves to the exit code. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill('SIGTERM');
    return this.exited;
  }

  client(): KMSClient {
    return new KMSClient({
      endpoint: this.url,
      region: CHAOS_REGION,
      credentials: { accessKeyId: CHAOS_ACCESS_KEY_ID, secretAccessKey: CHAOS_SECRET_ACCESS_KEY },
      // One attempt: a retry could turn one unanswered request into two writes, and the
      // ledger must know exactly which requests were acknowledged.
      maxAttempts: 1,
    });
  }
}

/** `keyhold audit <args>` as a child process, against the same storage as the nodes. */
export function keyholdCli(
  args: string[],
  opts: NodeOptions,
): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [MAIN, ...args], {
    env: nodeEnv(opts),
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}
