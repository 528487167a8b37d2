/**
 * Several keyhold nodes in this process on one fresh PostgreSQL database: the shape of a
 * fleet behind a load balancer. Same root passphrase (its salt lives in the database),
 * same administrator credentials, one node id each.
 */
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { startTestServer, type TestServer } from './server.js';

export const CLUSTER_PASSPHRASE = 'multi-node test passphrase, not a secret';

export interface Cluster {
  db: TestDatabase;
  nodes: TestServer[];
  /** Start one more node on the same database (extra env wins). */
  addNode(env?: Record<string, string>): Promise<TestServer>;
  stop(): Promise<void>;
}

export async function startCluster(n: number, opts: { seedFile?: string } = {}): Promise<Cluster> {
  const db = await createTestDatabase();
  const nodes: TestServer[] = [];
  let next = 0;
  const addNode = async (env: Record<string, string> = {}) => {
    const id = `node-${String.fromCharCode(97 + next++)}`;
    const s = await startTestServer({
      env: {
        KEYHOLD_STORAGE_URL: db.url,
        KEYHOLD_ROOT_PASSPHRASE: CLUSTER_PASSPHRASE,
        KEYHOLD_NODE_ID: id,
        // Only the first node applies the seed (identities are shared through the database).
        ...(opts.seedFile !== undefined && next === 1 ? { KEYHOLD_SEED_FILE: opts.seedFile } : {}),
        ...env,
      },
    });
    nodes.push(s);
    return s;
  };
  try {
    for (let i = 0; i < n; i++) await addNode();
  } catch (err) {
    for (const s of nodes) await s.stop().catch(() => undefined);
    await db.drop();
    throw err;
  }
  return {
    db,
    nodes,
    addNode,
    stop: async () => {
      for (const s of nodes) await s.stop().catch(() => undefined);
      await db.drop();
    },
  };
}

/** Poll `probe` until it returns true; the elapsed milliseconds, or a failure after `limitMs`. */
export async function within(limitMs: number, probe: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - start;
    if (performance.now() - start > limitMs) throw new Error(`not seen within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
