/**
 * `keyhold serve --workers N` as a child process, and clients pinned to one worker: a
 * keep-alive agent with one socket is one TCP connection, which node:cluster hands to one
 * worker for its whole life. Which worker a connection reached is read from the audit
 * chains (worker 1 writes audit.db, worker k audit-w<k>.db): the chain that grew.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { Hash } from '@smithy/hash-node';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import Database from '../../src/storage/sqlite/driver.js';
import { TEST_ACCESS_KEY_ID, TEST_REGION, TEST_SECRET_ACCESS_KEY } from './server.js';

export const MAIN = 'dist/src/cli/main.js';

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}
export const ROOT: Creds = {
  accessKeyId: TEST_ACCESS_KEY_ID,
  secretAccessKey: TEST_SECRET_ACCESS_KEY,
};

export interface Served {
  child: ChildProcess;
  url: string;
  pids: number[];
  metricsUrl: string | undefined;
  output: () => string;
  /** Resolves when the output matches (after what it held when called, or from the start). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Send a signal and resolve with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function serveWorkers(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Served> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], {
    env: {
      ...process.env,
      KEYHOLD_LOG_LEVEL: 'warn',
      KEYHOLD_DATA_DIR: dataDir,
      KEYHOLD_ACCESS_KEY_ID: ROOT.accessKeyId,
      KEYHOLD_SECRET_ACCESS_KEY: ROOT.secretAccessKey,
      KEYHOLD_QUOTAS: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const waitFor = (re: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m === null) return false;
        waiters.splice(waiters.indexOf(check as () => void), 1);
        clearTimeout(timer);
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => reject(new Error(`no ${re} in: ${out}`)), timeoutMs);
      waiters.push(check as () => void);
      void exited.then(() => {
        if (!check()) reject(new Error(`server exited without ${re}: ${out}`));
      });
      check();
    });
  return waitFor(/keyhold listening on (http:\/\/[\d.]+:\d+)[^]*?data directory:.*\n/).then((m) => {
    const pids = /(\d+) workers? \(pids? ([\d, ]+)/.exec(out);
    return {
      child,
      url: m[1] as string,
      pids: (pids?.[2] ?? '').split(', ').map(Number),
      metricsUrl: /metrics: (http\S+)/.exec(out)?.[1],
      output: () => out,
      waitFor,
      stop: (signal = 'SIGTERM') => {
        child.kill(signal);
        return exited;
      },
    };
  });
}

/** One keep-alive connection (so: one worker) for an SDK client and admin calls. */
export interface Pinned {
  agent: Agent;
  kms(creds?: Creds): KMSClient;
  admin(op: string, input: Record<string, unknown>): Promise<Record<string, unknown>>;
  destroy(): void;
}

export function pinned(url: string): Pinned {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const clients: KMSClient[] = [];
  const signer = new SignatureV4({
    service: 'kms',
    region: TEST_REGION,
    credentials: ROOT,
    sha256: Hash.bind(null, 'sha256'),
  });
  return {
    agent,
    kms(creds = ROOT) {
      const c = new KMSClient({
        endpoint: url,
        region: TEST_REGION,
        credentials: creds,
        maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ httpAgent: agent }),
      });
      clients.push(c);
      return c;
    },
    async admin(op, input) {
      const u = new URL(url);
      const body = JSON.stringify(input);
      const signed = await signer.sign(
        new HttpRequest({
          method: 'POST',
          protocol: 'http:',
          hostname: u.hostname,
          port: Number(u.port),
          path: '/',
          headers: {
            host: u.host,
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': `KeyholdAdmin.${op}`,
          },
          body,
        }),
      );
      const text = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(
          { agent, host: u.hostname, port: u.port, method: 'POST', path: '/' },
          (res) => {
            let t = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => (t += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
          },
        );
        for (const [k, v] of Object.entries(signed.headers)) req.setHeader(k, v);
        req.on('error', reject);
        req.end(body);
      });
      const json = (text.text === '' ? {} : JSON.parse(text.text)) as Record<string, unknown>;
      if (text.status !== 200) throw new Error(`${op}: ${String(json.__type)} ${text.text}`);
      return json;
    },
    destroy() {
      for (const c of clients) c.destroy();
      agent.destroy();
    },
  };
}

/** The newest seq of each worker's audit chain (0 when empty or absent), worker 1 first. */
export function chainHeads(dataDir: string, workers: number): number[] {
  return Array.from({ length: workers }, (_, i) => {
    const path = join(dataDir, i === 0 ? 'audit.db' : `audit-w${i + 1}.db`);
    if (!existsSync(path)) return 0;
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT coalesce(max(seq), 0) AS n FROM audit_events').get() as {
        n: number;
      };
      return row.n;
    } finally {
      db.close();
    }
  });
}

/** Which worker (1-based) served `call`: the one whose chain grew (the call is audited). */
export async function servedBy(
  dataDir: string,
  workers: number,
  call: () => Promise<unknown>,
): Promise<number> {
  const before = chainHeads(dataDir, workers);
  await call();
  const after = chainHeads(dataDir, workers);
  const grew = after.flatMap((n, i) => (n > (before[i] ?? 0) ? [i + 1] : []));
  if (grew.length !== 1) throw new Error(`chains grew: ${JSON.stringify({ before, after })}`);
  return grew[0] as number;
}
