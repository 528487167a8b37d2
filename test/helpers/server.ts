/**
 * Test harness: a real keyhold node in this process on a random port, a fresh data dir,
 * and an AWS SDK KMS client pointed at it. Tests talk to it only through real clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { Clock } from '../../src/kms/context.js';
import { startKeyhold, type KeyholdNode } from '../../src/server/app.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

export const TEST_ACCESS_KEY_ID = 'AKIAKEYHOLDTEST00001';
export const TEST_SECRET_ACCESS_KEY = 'kEyHoLdTeStSeCrEtKeY0123456789abcdefABCD';
export const TEST_ACCOUNT_ID = '111122223333';
export const TEST_REGION = 'us-east-1';

/** A clock tests can move. */
export class TestClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface TestServer {
  node: KeyholdNode;
  url: string;
  /** `http://127.0.0.1:<port>/metrics`: the separate metrics listener (unset when off). */
  metricsUrl: string | undefined;
  dataDir: string;
  clock: TestClock;
  client: KMSClient;
  /** A client with other credentials (e.g. unknown key, wrong secret). */
  clientWith(accessKeyId: string, secretAccessKey: string, region?: string): KMSClient;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  dataDir?: string;
  env?: Record<string, string>;
  keepDataDir?: boolean;
}

const pgByDataDir = new Map<string, TestDatabase>();

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'keyhold-test-'));
  // KEYHOLD_TEST_STORAGE=postgres runs the suite on PostgreSQL: one fresh database per server,
  // or per data dir when the test names one (a restart on the same data dir sees the same
  // database; it is dropped when the test process is done).
  let pgDb: TestDatabase | undefined;
  let dropOnStop = false;
  if (
    process.env.KEYHOLD_TEST_STORAGE === 'postgres' &&
    opts.env?.KEYHOLD_STORAGE_URL === undefined
  ) {
    const reused = opts.dataDir !== undefined || opts.keepDataDir === true;
    pgDb = pgByDataDir.get(dataDir);
    if (pgDb === undefined) {
      const fresh = await createTestDatabase();
      pgDb = fresh;
      if (!reused) dropOnStop = true;
      else {
        pgByDataDir.set(dataDir, fresh);
        process.once('beforeExit', () => void fresh.drop().catch(() => undefined));
      }
    }
  }
  const config = loadConfig(
    { port: 0, dataDir },
    {
      KEYHOLD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      KEYHOLD_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
      KEYHOLD_REGION: TEST_REGION,
      KEYHOLD_ACCOUNT_ID: TEST_ACCOUNT_ID,
      // AWS's request quotas (CreateKey 5/s) would throttle tests that set up many keys;
      // test/integration/sdk-quota.test.ts turns them on.
      KEYHOLD_QUOTAS: 'off',
      ...(pgDb !== undefined ? { KEYHOLD_STORAGE_URL: pgDb.url } : {}),
      ...opts.env,
    },
  );
  const clock = new TestClock();
  let node: KeyholdNode;
  try {
    node = await startKeyhold(config, {
      clock,
      logger: pino({ level: 'silent' }),
      jobIntervalMs: 0,
    });
  } catch (err) {
    if (dropOnStop) await pgDb?.drop();
    throw err;
  }
  const clientWith = (accessKeyId: string, secretAccessKey: string, region = TEST_REGION) =>
    new KMSClient({
      endpoint: node.url,
      region,
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
  const client = clientWith(TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY);
  return {
    node,
    url: node.url,
    metricsUrl: node.metricsUrl,
    dataDir,
    clock,
    client,
    clientWith,
    stop: async () => {
      client.destroy();
      await node.close();
      if (dropOnStop) await pgDb?.drop();
      if (opts.keepDataDir !== true && opts.dataDir === undefined)
        rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Await a promise that must reject with the given AWS error name; returns the error. */
export async function expectAwsError(
  p: Promise<unknown>,
  name: string,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { name: string };
    if (e.name !== name) throw new Error(`expected ${name}, got ${e.name}: ${e.message}`);
    return e;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}
