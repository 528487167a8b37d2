/**
 * Erasing or replacing the audit log is detected, on the embedded default (SQLite) and on
 * PostgreSQL: `keyhold audit verify` fails (exit 1) on an emptied or deleted log and
 * `keyhold serve` refuses to start on it; `--audit-reset` / KEYHOLD_AUDIT_RESET=1 starts,
 * recording a reset that verify then reports (exit 2). A kill -9 never makes keyhold refuse
 * to start. Real server, real CLI, real SDK.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import pg from 'pg';
import Database from '../../src/storage/sqlite/driver.js';
import { AuditAnchorError } from '../../src/audit/audit-log.js';
import { callAdmin } from '../../src/cli/admin-commands.js';
import {
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const MAIN = 'dist/src/cli/main.js';
/** These cases edit audit.db and keyhold.db: SQLite even when KEYHOLD_TEST_STORAGE=postgres. */
const SQLITE = { KEYHOLD_STORAGE_URL: '' };

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const e: NodeJS.ProcessEnv = { ...process.env, KEYHOLD_LOG_LEVEL: 'warn' };
  delete e['KEYHOLD_ROOT_PASSPHRASE'];
  delete e['KEYHOLD_STORAGE_URL'];
  Object.assign(e, env);
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: e, timeout: 30_000 }, (err, so, se) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : Number.NaN;
      resolve({ code, stdout: String(so), stderr: String(se) });
    });
  });
}

async function work(s: TestServer, n: number): Promise<void> {
  const k = await s.client.send(new CreateKeyCommand({ Description: 'anchor' }));
  for (let i = 0; i < n; i++)
    await s.client.send(
      new EncryptCommand({ KeyId: k.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') }),
    );
}

function emptySqliteLog(dataDir: string): void {
  const db = new Database(join(dataDir, 'audit.db'));
  db.exec('DELETE FROM audit_events; DELETE FROM audit_head;');
  db.close();
}

function deleteSqliteLog(dataDir: string): void {
  for (const f of ['audit.db', 'audit.db-wal', 'audit.db-shm'])
    if (existsSync(join(dataDir, f))) unlinkSync(join(dataDir, f));
}

function sqliteAnchorSeq(dataDir: string): number {
  const db = new Database(join(dataDir, 'keyhold.db'), { readonly: true });
  const r = db.prepare("SELECT value FROM kms_meta WHERE name = 'audit_anchor:local'").get() as
    { value: string } | undefined;
  db.close();
  return Number(r?.value.split(':')[1] ?? -1);
}

describe('audit anchor, SQLite', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyhold-anchor-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('verify prints the head and the anchor of an untouched log', async () => {
    const s = await startTestServer({ dataDir, env: SQLITE });
    await work(s, 5);
    await s.stop();
    const anchored = sqliteAnchorSeq(dataDir);
    assert.ok(anchored >= 6, `anchor at ${anchored}`);
    const r = await cli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /audit log OK: \d+ events verified/);
    assert.match(r.stdout, new RegExp(`head: ${anchored}:[0-9a-f]{64}`));
    assert.match(r.stdout, new RegExp(`anchor: seq ${anchored} in the main database`));
  });

  it('an emptied log fails verify and stops keyhold from starting; the reset is recorded and reported', async () => {
    const before = sqliteAnchorSeq(dataDir);
    emptySqliteLog(dataDir);
    const v = await cli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      new RegExp(`FAILED.*missing or empty, but its anchor records seq ${before}`),
    );
    await assert.rejects(startTestServer({ dataDir, env: SQLITE }), AuditAnchorError);
    const serve = await cli(['serve', '--port', '0', '--data-dir', dataDir], {
      KEYHOLD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      KEYHOLD_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
    });
    assert.equal(serve.code, 1);
    assert.match(
      serve.stderr,
      /keyhold: .*events were deleted\. keyhold refuses to start.*--audit-reset/,
    );
    assert.doesNotMatch(serve.stderr, /\n\s+at /, 'a message, not a stack trace');

    const s = await startTestServer({ dataDir, env: { ...SQLITE, KEYHOLD_AUDIT_RESET: '1' } });
    await work(s, 2);
    // The console's VerifyAudit reports the reset too.
    const live = (await callAdmin(
      'VerifyAudit',
      {},
      {
        endpointUrl: s.url,
        region: TEST_REGION,
        credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
      },
    )) as { Valid: boolean; Resets: { Seq: number; PreviousAnchor?: { Seq: number } }[] };
    assert.equal(live.Valid, true);
    assert.equal(live.Resets.length, 1);
    assert.equal(live.Resets[0]?.Seq, 1);
    assert.equal(live.Resets[0]?.PreviousAnchor?.Seq, before);
    await s.stop();
    const after = await cli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(after.code, 2, after.stderr);
    assert.match(after.stdout, /audit log verified with 1 reset/);
    assert.match(
      after.stdout,
      new RegExp(`log reset at seq 1 .*previous anchor: seq ${before}, chain hash [0-9a-f]{64}`),
    );
    // The next start is an ordinary one.
    const again = await startTestServer({ dataDir, env: SQLITE });
    await again.stop();
  });

  it('a deleted audit.db (recreated by a restart before) fails verify and start', async () => {
    const anchored = sqliteAnchorSeq(dataDir);
    deleteSqliteLog(dataDir);
    const v = await cli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, new RegExp(`anchor records seq ${anchored}`));
    await assert.rejects(startTestServer({ dataDir, env: SQLITE }), AuditAnchorError);
    // The refused start left no new audit.db behind that a second start would accept.
    await assert.rejects(startTestServer({ dataDir, env: SQLITE }), AuditAnchorError);
    // Deleting the anchor row too does not help: keyhold.db has history (its domain keys).
    const main = new Database(join(dataDir, 'keyhold.db'));
    main.exec("DELETE FROM kms_meta WHERE name LIKE 'audit_anchor:%'");
    main.close();
    const noAnchor = await cli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(noAnchor.code, 1);
    assert.match(noAnchor.stderr, /empty, but the main database has history and no audit anchor/);
    await assert.rejects(startTestServer({ dataDir, env: SQLITE }), AuditAnchorError);
    const s = await startTestServer({ dataDir, env: { ...SQLITE, KEYHOLD_AUDIT_RESET: 'true' } });
    await s.stop();
    const v2 = await cli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(v2.code, 2);
    assert.match(v2.stdout, /log reset at seq 1 .*previous anchor: none/);
  });

  it('verify --expect fails when the log no longer holds a head kept elsewhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhold-anchor-expect-'));
    try {
      const s = await startTestServer({ dataDir: dir, env: SQLITE });
      await work(s, 1);
      await s.stop();
      const first = await cli(['audit', 'verify', '--data-dir', dir]);
      const head = /head: (\d+:[0-9a-f]{64})/.exec(first.stdout)?.[1] as string;
      assert.ok(head !== undefined, first.stdout);
      const ok = await cli(['audit', 'verify', '--data-dir', dir, '--expect', head]);
      assert.equal(ok.code, 0, ok.stderr);
      const wrong = head.replace(/:(.)/, (_, c: string) => `:${c === '0' ? '1' : '0'}`);
      const bad = await cli(['audit', 'verify', '--data-dir', dir, '--expect', wrong]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /no longer holds seq \d+ with the expected chain hash/);
      const junk = await cli(['audit', 'verify', '--data-dir', dir, '--expect', 'nope']);
      assert.notEqual(junk.code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface Running {
  child: ChildProcess;
  url: string;
}

function serve(dataDir: string): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dataDir], {
    env: {
      ...process.env,
      KEYHOLD_LOG_LEVEL: 'warn',
      KEYHOLD_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      KEYHOLD_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
      KEYHOLD_QUOTAS: 'off',
      KEYHOLD_STORAGE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /keyhold listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, url: m[1] as string });
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

function kill(r: Running, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    r.child.once('exit', () => resolve());
    r.child.kill(signal);
  });
}

describe('audit anchor and kill -9', () => {
  it('a node killed with requests in flight starts again and its log verifies', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-anchor-kill-'));
    try {
      for (let round = 0; round < 3; round++) {
        const r = await serve(dataDir);
        const client = new KMSClient({
          endpoint: r.url,
          region: 'us-east-1',
          credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
          maxAttempts: 1,
        });
        const k = await client.send(new CreateKeyCommand({}));
        // Keep requests in flight while the kill lands (some fail; that is the point).
        const load = Array.from({ length: 40 }, () =>
          client
            .send(new EncryptCommand({ KeyId: k.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') }))
            .catch(() => undefined),
        );
        await new Promise((res) => setTimeout(res, round * 400 + 30));
        await kill(r, 'SIGKILL');
        await Promise.all(load);
        client.destroy();
      }
      const last = await serve(dataDir);
      await kill(last, 'SIGTERM');
      const v = await cli(['audit', 'verify', '--data-dir', dataDir]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /audit log OK/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('audit anchor, PostgreSQL', () => {
  let db: TestDatabase;
  let dataDir: string;
  let dataDirB: string;
  const PASSPHRASE = 'anchor test passphrase, long enough';
  const env = () => ({
    KEYHOLD_STORAGE_URL: db.url,
    KEYHOLD_NODE_ID: 'node-a',
    KEYHOLD_ROOT_PASSPHRASE: PASSPHRASE,
  });
  const sql = async (text: string, params: unknown[] = []) => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return await c.query(text, params);
    } finally {
      await c.end();
    }
  };
  before(async () => {
    db = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'keyhold-anchor-pg-'));
    dataDirB = mkdtempSync(join(tmpdir(), 'keyhold-anchor-pg-b-'));
  });
  after(async () => {
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(dataDirB, { recursive: true, force: true });
  });

  it("an emptied node chain fails verify (for that chain) and that node's start", async () => {
    const a = await startTestServer({ dataDir, env: env() });
    await work(a, 3);
    await a.stop();
    const b = await startTestServer({
      dataDir: dataDirB,
      env: { ...env(), KEYHOLD_NODE_ID: 'node-b' },
    });
    await work(b, 1);
    await b.stop();
    const ok = await cli(['audit', 'verify', '--data-dir', dataDir], env());
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /chain node-a: audit log OK/);
    const anchor = await sql("SELECT value FROM kms_meta WHERE name = 'audit_anchor:node-a'");
    const anchored = Number(String(anchor.rows[0]?.value).split(':')[1]);
    assert.ok(anchored >= 4);

    // Delete node-a's events and head: the chain vanishes from audit_heads, its anchor stays.
    await sql("DELETE FROM audit_events WHERE chain_id = 'node-a'");
    await sql("DELETE FROM audit_heads WHERE chain_id = 'node-a'");
    const v = await cli(['audit', 'verify', '--data-dir', dataDir], env());
    assert.equal(v.code, 1);
    assert.match(v.stdout, /chain node-b: audit log OK/);
    assert.match(v.stderr, new RegExp(`FAILED.*anchor records seq ${anchored}`));
    await assert.rejects(startTestServer({ dataDir, env: env() }), AuditAnchorError);

    const reset = await startTestServer({ dataDir, env: { ...env(), KEYHOLD_AUDIT_RESET: 'on' } });
    await work(reset, 1);
    await reset.stop();
    const after = await cli(['audit', 'verify', '--data-dir', dataDir], env());
    assert.equal(after.code, 2, after.stderr);
    assert.match(after.stdout, new RegExp(`chain node-a: audit log verified with 1 reset`));
    assert.match(after.stdout, new RegExp(`previous anchor: seq ${anchored}`));
  });

  it('a chain cut back to an older genuine head is refused', async () => {
    const s = await startTestServer({ dataDir, env: env() });
    await work(s, 1);
    await s.stop();
    const saved = (
      await sql("SELECT seq, chain_hash, mac FROM audit_heads WHERE chain_id = 'node-a'")
    ).rows[0] as { seq: string; chain_hash: Buffer; mac: Buffer };
    const s2 = await startTestServer({ dataDir, env: env() });
    await work(s2, 3);
    await s2.stop();
    // Restore the older head and drop what followed: the chain alone verifies.
    await sql("DELETE FROM audit_events WHERE chain_id = 'node-a' AND seq > $1", [saved.seq]);
    await sql(
      "UPDATE audit_heads SET seq = $1, chain_hash = $2, mac = $3 WHERE chain_id = 'node-a'",
      [saved.seq, saved.chain_hash, saved.mac],
    );
    const v = await cli(['audit', 'verify', '--data-dir', dataDir], env());
    assert.equal(v.code, 1);
    assert.match(v.stderr, new RegExp(`ends at seq ${saved.seq}, behind its anchor`));
    await assert.rejects(startTestServer({ dataDir, env: env() }), AuditAnchorError);
  });
});
