/**
 * `npm run bench:scale`: does latency stay flat as the data grows (issue 13 item 4)?
 *
 * One in-process keyhold node (real API handler, pre-signed requests, no sockets, audit
 * durable as always) per store: SQLite (embedded default) and PostgreSQL (a scratch database
 * on SCALE_PG_URL's server, created and dropped here). The store is filled underneath the
 * running node, straight through its tables (not via the API):
 *
 * - keys: synthetic keys with one key version each (rows as bench/storage.ts writes them) up
 *   to 1, 10k, 100k, 1M keys; at each size, c=1 p50 of Encrypt and Decrypt (as the account
 *   root, on a real key) and of Decrypt by an IAM user allowed only by a grant
 *   (CreateGrant-checked Decrypt: the key policy leaves it to IAM, the user has no
 *   policy, so every call reads the key's grants), plus the storage layer alone: getKey and
 *   getKeyVersion of random synthetic keys (no key cache: a lookup the cache misses);
 * - grants: synthetic grants on the measured key (other grantees) up to 10k, 100k (AWS caps a
 *   key at 50,000 grants; bulk-inserted rows go past the cap), then the same requests;
 * - audit events: real events recorded through the node's AuditLog (chained, committed in
 *   groups of 512) up to 1M, then the same requests.
 *
 * Each figure: the median over SCALE_ROUNDS rounds of the round's p50 (SCALE_N requests
 * each, rounds rotate the operations). EXPLAIN QUERY PLAN / EXPLAIN of the hot queries is
 * (the grants query authorization runs: grantsForDecision → listGrantsForGrantee) is
 * printed at the largest grant count. Env: SCALE_ROUNDS (3), SCALE_N (300), SCALE_KEYS (comma list,
 * default 1,10000,100000,1000000), SCALE_PG_KEYS (default 1,10000,100000), SCALE_GRANTS
 * (10000,100000), SCALE_AUDIT (1000000), SCALE_STORES (sqlite,pg), SCALE_PG_URL
 * (default KEYHOLD_TEST_PG_URL or postgres://postgres@127.0.0.1:5432/postgres).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { AuditInput } from '../src/audit/event.js';
import { loadConfig } from '../src/config/config.js';
import { startKeyhold, type KeyholdNode } from '../src/server/app.js';
import { PostgresStorage } from '../src/storage/postgres/pg-storage.js';
import Database from '../src/storage/sqlite/driver.js';
import { SqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import { signRequest } from './load.js';

const list = (v: string | undefined, d: number[]): number[] =>
  v === undefined ? d : v.split(',').map((s) => Number(s.trim()));
const ROUNDS = Number(process.env.SCALE_ROUNDS ?? 3);
const N = Number(process.env.SCALE_N ?? 300);
const KEYS = list(process.env.SCALE_KEYS, [1, 10_000, 100_000, 1_000_000]);
const PG_KEYS = list(process.env.SCALE_PG_KEYS, [1, 10_000, 100_000]);
const GRANTS = list(process.env.SCALE_GRANTS, [10_000, 100_000]);
const AUDIT = list(process.env.SCALE_AUDIT, [1_000_000]);
const STORES = (process.env.SCALE_STORES ?? 'sqlite,pg').split(',');
const PG_ADMIN =
  process.env.SCALE_PG_URL ??
  process.env.KEYHOLD_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const REGION = 'us-east-1';
const ROOT = {
  accessKeyId: 'AKIASCALEBENCH000001',
  secretAccessKey: 'scaleBENCHscale/BENCHscaleBENCHscale0000',
};
const GRANTEE = 'arn:aws:iam::111122223333:user/bob';
let BOB_ID = 'AIDA';
const BOB = {
  accessKeyId: 'AKIASCALEBOB00000001',
  secretAccessKey: 'scaleBOBscaleBOB/scaleBOBscaleBOBscale00',
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const ms = (v: number): string => (v < 10 ? v.toFixed(3) : v.toFixed(1));
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Signed {
  headers: Record<string, string>;
  body: Buffer;
}

async function sign(creds: typeof ROOT, op: string, body: object): Promise<Signed> {
  const text = JSON.stringify(body);
  const s = await signRequest({
    host: '127.0.0.1',
    port: 8420,
    region: REGION,
    credentials: creds,
    op,
    body: text,
  });
  return {
    headers: { ...s.headers, 'content-length': String(Buffer.byteLength(text)) },
    body: Buffer.from(text, 'utf8'),
  };
}

async function call(node: KeyholdNode, s: Signed): Promise<Record<string, unknown>> {
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
  if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function p50Of(n: number, fn: () => Promise<unknown>): Promise<number> {
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    xs[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  xs.sort();
  return xs[Math.floor(n / 2)] ?? NaN;
}

const COLUMNS = [
  'Encrypt (root)',
  'Decrypt (root)',
  'Decrypt (grantee, via grant)',
  'storage getKey',
  'storage getKeyVersion',
  "storage: the caller's grants (listGrantsForGrantee, now)",
  'storage: every grant of the key (listGrantsForKey, before)',
] as const;
type Column = (typeof COLUMNS)[number];

interface Fill {
  keys(from: number, to: number): Promise<void>;
  grants(keyId: string, account: string, from: number, to: number): Promise<void>;
  /** A raw (uncached) storage for lookups of synthetic keys, and EXPLAIN. */
  lookups(): Promise<{
    getKey(id: string): Promise<unknown>;
    getKeyVersion(id: string): Promise<unknown>;
    granteeGrants(keyId: string): Promise<unknown>;
    allGrants(keyId: string): Promise<unknown>;
    explain(keyId: string): Promise<string[]>;
    close(): Promise<void>;
  }>;
}

const synthId = (i: number) => `bench-${String(i).padStart(8, '0')}`;

function sqliteFill(path: string, account: string): Fill {
  return {
    async keys(from, to) {
      const db = new Database(path);
      db.pragma('busy_timeout = 10000');
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
          const id = synthId(i);
          k.run(REGION, id, account, `arn:aws:kms:${REGION}:${account}:key/${id}`);
          v.run(REGION, id, ekt);
        }
      });
      for (let lo = from; lo < to; lo += 50_000) batch(lo, Math.min(to, lo + 50_000));
      db.exec('ANALYZE');
      db.close();
    },
    async grants(keyId, acct, from, to) {
      const db = new Database(path);
      db.pragma('busy_timeout = 10000');
      const g = db.prepare(
        `INSERT INTO grants (region, key_id, grant_id, account_id, issuing_principal, name,
           grantee_principal, retiring_principal, operations, constraints, creation_date, fingerprint)
         VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, '["Decrypt","Encrypt"]', NULL, 0, ?)`,
      );
      const batch = db.transaction((lo: number, hi: number) => {
        for (let i = lo; i < hi; i++) {
          g.run(
            REGION,
            keyId,
            randomBytes(32).toString('hex'),
            acct,
            `arn:aws:iam::${acct}:root`,
            `arn:aws:iam::${acct}:user/grantee-${i}`,
            `fp-${i}`,
          );
        }
      });
      for (let lo = from; lo < to; lo += 50_000) batch(lo, Math.min(to, lo + 50_000));
      db.exec('ANALYZE');
      db.close();
    },
    async lookups() {
      const s = new SqliteStorage(path);
      const db = new Database(path, { readonly: true });
      return {
        getKey: (id) => s.getKey(REGION, id),
        getKeyVersion: (id) => s.getKeyVersion(REGION, id, 'v1'),
        granteeGrants: (keyId) =>
          s.grants.listGrantsForGrantee(REGION, keyId, { arns: [GRANTEE], principalId: BOB_ID }),
        allGrants: (keyId) => s.grants.listGrantsForKey(REGION, keyId),
        async explain(keyId) {
          const q = (sql: string, ...p: unknown[]) =>
            `${sql}\n    → ${(
              db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...p) as Array<{ detail: string }>
            )
              .map((r) => r.detail)
              .join('; ')}`;
          return [
            q('SELECT * FROM keys WHERE region = ? AND key_id = ?', REGION, keyId),
            q(
              'SELECT * FROM key_versions WHERE region = ? AND key_id = ? AND version_id = ?',
              REGION,
              keyId,
              'v1',
            ),
            q(
              'SELECT * FROM grants INDEXED BY grants_by_grantee WHERE region = ? AND key_id = ? AND grantee_principal = ?',
              REGION,
              keyId,
              GRANTEE,
            ),
            q(
              'SELECT * FROM grants INDEXED BY grants_by_grantee_id WHERE region = ? AND key_id = ? AND grantee_principal_id = ? AND grantee_principal_id IS NOT NULL',
              REGION,
              keyId,
              'AIDAEXAMPLE',
            ),
          ];
        },
        async close() {
          db.close();
          await s.close();
        },
      };
    },
  };
}

function pgFill(url: string, account: string): Fill {
  const withDb = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  return {
    keys: (from, to) =>
      withDb(async (c) => {
        for (let lo = from; lo < to; lo += 100_000) {
          const hi = Math.min(to, lo + 100_000);
          await c.query(
            `INSERT INTO keys (region, key_id, account_id, arn, description, key_state, key_spec, key_usage,
               origin, key_manager, multi_region, policy, creation_date, current_version_id, revision)
             SELECT $1, k, $2, 'arn:aws:kms:' || $1 || ':' || $2 || ':key/' || k, '', 'Enabled',
               'SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'AWS_KMS', 'CUSTOMER', false, '{}', 0, 'v1', 0
             FROM (SELECT 'bench-' || lpad(i::text, 8, '0') AS k FROM generate_series($3::int, $4::int - 1) i) g`,
            [REGION, account, lo, hi],
          );
          await c.query(
            `INSERT INTO key_versions (region, key_id, version_id, domain_key_id, ekt, created_at)
             SELECT $1, 'bench-' || lpad(i::text, 8, '0'), 'v1', 'dk-bench', decode(md5(i::text), 'hex'), 0
             FROM generate_series($2::int, $3::int - 1) i`,
            [REGION, lo, hi],
          );
        }
        await c.query('ANALYZE');
      }),
    grants: (keyId, acct, from, to) =>
      withDb(async (c) => {
        await c.query(
          `INSERT INTO grants (region, key_id, grant_id, account_id, issuing_principal, name,
             grantee_principal, retiring_principal, operations, constraints, creation_date, fingerprint)
           SELECT $1, $2, md5('g' || i) || md5('h' || i), $3, 'arn:aws:iam::' || $3 || ':root', NULL,
             'arn:aws:iam::' || $3 || ':user/grantee-' || i, NULL, '["Decrypt","Encrypt"]', NULL, 0, 'fp-' || i
           FROM generate_series($4::int, $5::int - 1) i`,
          [REGION, keyId, acct, from, to],
        );
        await c.query('ANALYZE');
      }),
    async lookups() {
      const s = await PostgresStorage.open(url);
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return {
        getKey: (id) => s.getKey(REGION, id),
        getKeyVersion: (id) => s.getKeyVersion(REGION, id, 'v1'),
        granteeGrants: (keyId) =>
          s.grants.listGrantsForGrantee(REGION, keyId, { arns: [GRANTEE], principalId: BOB_ID }),
        allGrants: (keyId) => s.grants.listGrantsForKey(REGION, keyId),
        async explain(keyId) {
          const q = async (sql: string, p: unknown[]) => {
            const r = await c.query(`EXPLAIN ${sql}`, p);
            return `${sql}\n    → ${(r.rows as Array<Record<string, string>>).map((x) => x['QUERY PLAN']).join('; ')}`;
          };
          return [
            await q('SELECT * FROM keys WHERE region = $1 AND key_id = $2', [REGION, keyId]),
            await q(
              'SELECT * FROM key_versions WHERE region = $1 AND key_id = $2 AND version_id = $3',
              [REGION, keyId, 'v1'],
            ),
            await q(
              'SELECT * FROM grants WHERE region = $1 AND key_id = $2 AND (grantee_principal = ANY($3::text[]) OR grantee_principal_id = $4)',
              [REGION, keyId, [GRANTEE], 'AIDAEXAMPLE'],
            ),
          ];
        },
        async close() {
          await c.end();
          await s.close();
        },
      };
    },
  };
}

async function newPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `keyhold_scale_${randomBytes(5).toString('hex')}`;
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

interface Point {
  label: string;
  values: Record<Column, number>;
}

async function runStore(store: 'sqlite' | 'pg', out: string[]): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-scale-'));
  const db = store === 'pg' ? await newPgDatabase() : undefined;
  const account = '111122223333';
  const seed = join(dataDir, '..', `keyhold-scale-seed-${process.pid}.json`);
  writeFileSync(
    seed,
    JSON.stringify({
      accounts: [
        {
          id: account,
          users: [
            {
              name: 'bob',
              accessKeys: [
                { accessKeyId: BOB.accessKeyId, secretAccessKeyEnv: 'SCALE_BOB_SECRET' },
              ],
            },
          ],
        },
      ],
    }),
  );
  process.env.SCALE_BOB_SECRET = BOB.secretAccessKey;
  const env: Record<string, string> = {
    KEYHOLD_ACCESS_KEY_ID: ROOT.accessKeyId,
    KEYHOLD_SECRET_ACCESS_KEY: ROOT.secretAccessKey,
    KEYHOLD_REGION: REGION,
    KEYHOLD_QUOTAS: 'off',
    KEYHOLD_METRICS: 'off',
    KEYHOLD_SEED_FILE: seed,
    SCALE_BOB_SECRET: BOB.secretAccessKey,
    ...(db !== undefined ? { KEYHOLD_STORAGE_URL: db.url, KEYHOLD_NODE_ID: 'scale' } : {}),
  };
  const config = loadConfig({ port: 0, dataDir }, env);
  const node = await startKeyhold(config, { logger: pino({ level: 'warn' }), jobIntervalMs: 0 });
  const name = store === 'pg' ? 'PostgreSQL' : 'SQLite';
  try {
    const created = await call(node, await sign(ROOT, 'CreateKey', {}));
    const meta = created.KeyMetadata as { KeyId: string; AWSAccountId: string };
    if (meta.AWSAccountId !== account) throw new Error(`root account is ${meta.AWSAccountId}`);
    const keyId = meta.KeyId;
    await call(
      node,
      await sign(ROOT, 'CreateGrant', {
        KeyId: keyId,
        GranteePrincipal: GRANTEE,
        Operations: ['Decrypt'],
      }),
    );
    const enc = await call(
      node,
      await sign(ROOT, 'Encrypt', {
        KeyId: keyId,
        Plaintext: randomBytes(1024).toString('base64'),
      }),
    );
    // Signed again before every measurement: a SigV4 signature expires after 5 minutes.
    const plaintext = randomBytes(1024).toString('base64');
    const signAll = async (): Promise<Array<[Column, Signed]>> => [
      [
        'Encrypt (root)',
        await sign(ROOT, 'Encrypt', {
          KeyId: keyId,
          Plaintext: plaintext,
        }),
      ],
      ['Decrypt (root)', await sign(ROOT, 'Decrypt', { CiphertextBlob: enc.CiphertextBlob })],
      [
        'Decrypt (grantee, via grant)',
        await sign(BOB, 'Decrypt', { CiphertextBlob: enc.CiphertextBlob }),
      ],
    ];
    let reqs = await signAll();
    const bobAuth = await node.requestDeps.authenticator.authenticate({
      method: 'POST',
      host: '127.0.0.1:8420',
      path: '/',
      headers: (reqs[2] as [Column, Signed])[1].headers,
      body: (reqs[2] as [Column, Signed])[1].body,
    });
    BOB_ID = bobAuth.principal.userId ?? 'AIDA';
    const fill =
      db !== undefined ? pgFill(db.url, account) : sqliteFill(join(dataDir, 'keyhold.db'), account);
    let synthetic = 0;
    const points: Point[] = [];
    const measure = async (label: string, explain: boolean): Promise<void> => {
      const lk = await fill.lookups();
      try {
        const acc = new Map<Column, number[]>();
        const push = (c: Column, v: number) => acc.set(c, [...(acc.get(c) ?? []), v]);
        reqs = await signAll();
        for (const [, s] of reqs) await p50Of(50, () => call(node, s)); // warm-up
        for (let r = 0; r < ROUNDS; r++) {
          for (let i = 0; i < reqs.length; i++) {
            const [col, s] = reqs[(i + r) % reqs.length] as [Column, Signed];
            push(col, await p50Of(N, () => call(node, s)));
          }
          const rnd = () => synthId(Math.floor(Math.random() * Math.max(1, synthetic)));
          push(COLUMNS[5], await p50Of(Math.min(N, 50), () => lk.granteeGrants(keyId)));
          push(COLUMNS[6], await p50Of(Math.min(N, 3), () => lk.allGrants(keyId)));
          if (synthetic > 0) {
            push('storage getKey', await p50Of(N, () => lk.getKey(rnd())));
            push('storage getKeyVersion', await p50Of(N, () => lk.getKeyVersion(rnd())));
          }
        }
        const values = Object.fromEntries(
          COLUMNS.map((c) => [c, acc.has(c) ? median(acc.get(c) as number[]) : NaN]),
        ) as Record<Column, number>;
        points.push({ label, values });
        log(`${name} ${label}: ${COLUMNS.map((c) => `${c} ${ms(values[c])}`).join(', ')}`);
        if (explain) {
          out.push(`${name} query plans at ${label}:`, '', '```');
          for (const line of await lk.explain(keyId)) out.push(line);
          out.push('```', '');
        }
      } finally {
        await lk.close();
      }
    };
    const sizes = store === 'pg' ? PG_KEYS : KEYS;
    for (const size of sizes) {
      const target = size - 1; // the real key counts as one
      if (target > synthetic) {
        const t0 = Date.now();
        await fill.keys(synthetic, target);
        log(
          `${name}: filled ${target - synthetic} keys in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        );
        synthetic = target;
      }
      await measure(`${size.toLocaleString('en-US')} ${size === 1 ? 'key' : 'keys'}`, false);
    }
    const keysLabel = `${(synthetic + 1).toLocaleString('en-US')} keys`;
    let grants = 1;
    for (const g of GRANTS) {
      const t0 = Date.now();
      await fill.grants(keyId, account, grants, g);
      log(`${name}: filled ${g - grants} grants in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      grants = g;
      await measure(
        `${keysLabel}, ${g.toLocaleString('en-US')} grants on the key`,
        g === GRANTS[GRANTS.length - 1],
      );
    }
    const audit = node.requestDeps.audit;
    reqs = await signAll();
    const auth = await node.requestDeps.authenticator.authenticate({
      method: 'POST',
      host: '127.0.0.1:8420',
      path: '/',
      headers: (reqs[0] as [Column, Signed])[1].headers,
      body: (reqs[0] as [Column, Signed])[1].body,
    });
    let events = audit.lastSeq;
    for (const target of AUDIT) {
      const t0 = Date.now();
      while (events < target) {
        const n = Math.min(4096, target - events);
        const batch: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
          const input: AuditInput = {
            requestId: randomBytes(16).toString('hex'),
            eventTime: new Date(),
            operation: 'Encrypt',
            region: REGION,
            sourceIp: '127.0.0.1',
            userAgent: 'bench-scale',
            principal: auth.principal,
            recipientAccountId: account,
            input: { KeyId: keyId, EncryptionContext: { n: String(events + i) } },
            output: { KeyId: `arn:aws:kms:${REGION}:${account}:key/${keyId}` },
            keyArns: [`arn:aws:kms:${REGION}:${account}:key/${keyId}`],
            readOnly: false,
          };
          batch.push(audit.record(input));
        }
        await Promise.all(batch);
        events = audit.lastSeq;
      }
      log(
        `${name}: recorded audit events up to ${events} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      await measure(
        `${keysLabel}, ${grants.toLocaleString('en-US')} grants, ${events.toLocaleString('en-US')} audit events`,
        false,
      );
    }
    out.push(
      `### ${name} (c=1, in-process, audit durable; p50 ms, median of ${ROUNDS} rounds × ${N} requests)`,
      '',
      `| store contents | ${COLUMNS.join(' | ')} |`,
      `| --- | ${COLUMNS.map(() => '--:').join(' | ')} |`,
      ...points.map(
        (p) =>
          `| ${p.label} | ${COLUMNS.map((c) => (Number.isNaN(p.values[c]) ? '–' : ms(p.values[c]))).join(' | ')} |`,
      ),
      '',
    );
  } finally {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(seed, { force: true });
    await db?.drop();
  }
}

async function main(): Promise<void> {
  const out: string[] = [
    `Generated by \`npm run bench:scale\` (bench/scale.ts) at ${new Date().toISOString().slice(0, 16)} UTC; Node ${process.version}, ${cpus().length} CPUs, load average at start ${loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}.`,
    '',
  ];
  for (const s of STORES) await runStore(s === 'pg' ? 'pg' : 'sqlite', out);
  console.log(out.join('\n'));
}

await main();
