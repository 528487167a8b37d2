/**
 * Bounded audit events and cross-account delivery, through real clients: unauthenticated
 * floods with 15 KB User-Agents cost audit.db almost nothing, a denied Decrypt with a 900 KB
 * encryption context writes an event under 110 KB marked as cut, and a call by account B on
 * account A's key is in A's audit log as well as B's (one sharedEventID), as CloudTrail does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import { AdminCallError, callAdmin } from '../../src/cli/admin-commands.js';
import {
  expectAwsError,
  startTestServer,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_REGION,
  TEST_SECRET_ACCESS_KEY,
  type TestServer,
} from '../helpers/server.js';

const MAIN = 'dist/src/cli/main.js';
const A = TEST_ACCOUNT_ID;
const B = '444455556666';
const ids = {
  nobody: ['AKIABOUNDSNOBODY0001', 'nobodyBoundsSecret0123456789abcdefghijk'],
  oscar: ['AKIABOUNDSOSCAR00001', 'oscarBoundsSecret0123456789abcdefghijkl'],
  bRoot: ['AKIABOUNDSBROOT00001', 'bRootBoundsSecret0123456789abcdefghijkl'],
} as const;

interface Event {
  eventName: string;
  eventID: string;
  requestID: string;
  userAgent: string;
  errorCode?: string;
  recipientAccountId: string;
  sharedEventID?: string;
  omitted?: boolean;
  userIdentity: { type: string; accountId?: string; arn?: string };
  requestParameters: Record<string, unknown> | null;
  additionalEventData?: { aggregatedRequests?: number; truncatedFields?: string[] };
  resources?: { ARN: string }[];
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['KEYHOLD_ROOT_PASSPHRASE'];
  delete env['KEYHOLD_STORAGE_URL'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, so, se) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : Number.NaN;
        resolve({ code, stdout: String(so), stderr: String(se) });
      },
    );
  });
}

const lines = (s: string): Event[] =>
  s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Event);

function auditBytes(dataDir: string): number {
  let n = 0;
  for (const f of ['audit.db', 'audit.db-wal']) {
    const p = join(dataDir, f);
    if (existsSync(p)) n += statSync(p).size;
  }
  return n;
}

describe('bounded audit events', () => {
  let dataDir: string;
  let seedDir: string;
  let server: TestServer | undefined;
  let keyArn: string;
  const clients: KMSClient[] = [];
  const as = (who: keyof typeof ids): KMSClient => {
    const [accessKeyId, secretAccessKey] = ids[who];
    const c = new KMSClient({
      endpoint: server?.url,
      region: TEST_REGION,
      credentials: { accessKeyId, secretAccessKey },
      maxAttempts: 1,
    });
    clients.push(c);
    return c;
  };
  const admin = (op: string, input: Record<string, unknown>, who?: keyof typeof ids) =>
    callAdmin(op, input, {
      endpointUrl: server?.url as string,
      region: TEST_REGION,
      credentials:
        who === undefined
          ? { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY }
          : { accessKeyId: ids[who][0], secretAccessKey: ids[who][1] },
    }) as Promise<{ Events: Event[] }>;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keyhold-audit-bounds-'));
    seedDir = mkdtempSync(join(tmpdir(), 'keyhold-audit-bounds-seed-'));
    for (const [who, [, secret]] of Object.entries(ids))
      writeFileSync(join(seedDir, `${who}.secret`), secret);
    const key = (who: keyof typeof ids) => [
      { accessKeyId: ids[who][0], secretAccessKeyFile: `${who}.secret` },
    ];
    const allow = (Action: string[]) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action, Resource: '*' }],
    });
    const seed = {
      accounts: [
        { id: A, users: [{ name: 'nobody', accessKeys: key('nobody') }] },
        {
          id: B,
          rootAccessKeys: key('bRoot'),
          users: [
            {
              name: 'oscar',
              accessKeys: key('oscar'),
              policies: { kms: allow(['kms:Encrypt', 'kms:Decrypt', 'kms:CreateGrant']) },
            },
          ],
        },
      ],
    };
    writeFileSync(join(seedDir, 'seed.json'), JSON.stringify(seed));
    server = await startTestServer({
      dataDir,
      // SQLite even when KEYHOLD_TEST_STORAGE=postgres: the flood test measures audit.db.
      env: { KEYHOLD_STORAGE_URL: '', KEYHOLD_SEED_FILE: join(seedDir, 'seed.json') },
    });
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'root',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${A}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Sid: 'other account',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${B}:root` },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:CreateGrant'],
          Resource: '*',
        },
      ],
    });
    const k = await server.client.send(new CreateKeyCommand({ Policy: policy }));
    keyArn = k.KeyMetadata?.Arn as string;
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(seedDir, { recursive: true, force: true });
  });

  it('3,000 unsigned POSTs with a 15 KB User-Agent add at most a few pages to audit.db', async () => {
    const url = server?.url as string;
    const userAgent = 'flood/' + 'x'.repeat(15_000);
    const before = auditBytes(dataDir);
    let sent = 0;
    const worker = async () => {
      while (sent < 3000) {
        sent += 1;
        const r = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'TrentService.ListKeys',
            'user-agent': userAgent,
          },
          body: '{}',
        });
        assert.equal(r.status, 403);
        await r.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const grown = auditBytes(dataDir) - before;
    // Before aggregation: 3,000 full events, about 68 MB.
    assert.ok(grown <= 64 * 1024, `audit.db grew by ${grown} bytes`);
  });

  it('the flood is one full event per minute (User-Agent cut to 1 KB) and summaries counting the rest', async () => {
    await server?.stop();
    server = undefined;
    try {
      const r = await cli(['audit', 'query', '--event', 'ListKeys', '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      const flood = lines(r.stdout).filter((e) => e.userAgent.startsWith('flood/'));
      const full = flood.filter((e) => e.additionalEventData?.aggregatedRequests === undefined);
      const counted = flood.reduce(
        (n, e) => n + (e.additionalEventData?.aggregatedRequests ?? 0),
        0,
      );
      // One window per minute of flood: one on an idle machine, a few on a loaded one.
      assert.ok(full.length >= 1 && full.length <= 4, `${full.length} full events`);
      assert.equal(full.length + counted, 3000);
      const summaries = flood.length - full.length;
      assert.ok(summaries >= 1 && summaries <= full.length, `${summaries} summaries`);
      const first = full[0];
      assert.equal(first?.userIdentity.type, 'Unknown');
      assert.equal(first?.errorCode, 'MissingAuthenticationTokenException');
      assert.equal(first?.userAgent.length, 1024);
      assert.equal(first?.omitted, true);
    } finally {
      server = await startTestServer({
        dataDir,
        // SQLite even when KEYHOLD_TEST_STORAGE=postgres: the flood test measures audit.db.
        env: { KEYHOLD_STORAGE_URL: '', KEYHOLD_SEED_FILE: join(seedDir, 'seed.json') },
      });
    }
  });

  it('a denied Decrypt with a 900 KB encryption context writes an event under 110 KB, marked', async () => {
    const ct = await server?.client.send(
      new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('secret') }),
    );
    const ctx: Record<string, string> = {};
    for (let i = 0; i < 900; i++) ctx[`k${String(i).padStart(4, '0')}`] = 'v'.repeat(1000);
    await expectAwsError(
      as('nobody').send(
        new DecryptCommand({ CiphertextBlob: ct?.CiphertextBlob, EncryptionContext: ctx }),
      ),
      'AccessDeniedException',
    );
    const r = await admin('QueryAudit', { EventName: 'Decrypt', Limit: 1000 });
    const denied = r.Events.filter((e) => e.errorCode === 'AccessDeniedException');
    assert.equal(denied.length, 1);
    const e = denied[0] as Event;
    const size = Buffer.byteLength(JSON.stringify(e));
    assert.ok(size < 110 * 1024, `event is ${size} bytes`);
    assert.equal(e.omitted, true);
    assert.deepEqual(e.additionalEventData?.truncatedFields, ['requestParameters']);
    const kept = e.requestParameters?.['encryptionContext'] as Record<string, string>;
    assert.ok(Object.keys(kept).length >= 90, `${Object.keys(kept).length} pairs kept`);
    assert.equal(e.userIdentity.arn, `arn:aws:iam::${A}:user/nobody`);
  });

  it("account B's Encrypt, Decrypt and CreateGrant on A's key are in A's log and B's, one sharedEventID each", async () => {
    const oscar = as('oscar');
    const ct = await oscar.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('b') }));
    await oscar.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
    await oscar.send(
      new CreateGrantCommand({
        KeyId: keyArn,
        GranteePrincipal: `arn:aws:iam::${B}:root`,
        Operations: ['Decrypt'],
      }),
    );
    const byOscar = (events: Event[]) =>
      events.filter((e) => e.userIdentity.arn === `arn:aws:iam::${B}:user/oscar`);
    const forA = byOscar((await admin('QueryAudit', { KeyArn: keyArn, Limit: 1000 })).Events);
    const forB = byOscar(
      (await admin('QueryAudit', { KeyArn: keyArn, Limit: 1000 }, 'bRoot')).Events,
    );
    for (const events of [forA, forB])
      assert.deepEqual(
        events.map((e) => e.eventName),
        ['Encrypt', 'Decrypt', 'CreateGrant'],
      );
    assert.ok(forA.every((e) => e.recipientAccountId === A && e.userIdentity.accountId === B));
    assert.ok(forB.every((e) => e.recipientAccountId === B));
    for (let i = 0; i < 3; i++) {
      const a = forA[i] as Event;
      const b = forB[i] as Event;
      assert.match(a.sharedEventID ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(a.sharedEventID, b.sharedEventID);
      assert.equal(a.requestID, b.requestID);
      assert.notEqual(a.eventID, b.eventID);
    }
    // A's own calls are not delivered to B.
    const bSees = (await admin('QueryAudit', { KeyArn: keyArn, Limit: 1000 }, 'bRoot')).Events;
    assert.ok(bSees.every((e) => e.userIdentity.accountId === B));
    // Nor may B read A's log.
    await assert.rejects(
      admin('QueryAudit', { AccountId: A }, 'bRoot'),
      (e: unknown) => e instanceof AdminCallError && e.code === 'AccessDenied',
    );
    // `keyhold audit query --account` gives each account its copy.
    const q = await cli([
      'audit',
      'query',
      '--account',
      A,
      '--key-id',
      keyArn,
      '--data-dir',
      dataDir,
    ]);
    assert.equal(q.code, 0, q.stderr);
    const cliA = byOscar(lines(q.stdout));
    assert.deepEqual(
      cliA.map((e) => e.eventID),
      forA.map((e) => e.eventID),
    );
    const bad = await cli(['audit', 'query', '--account', 'A', '--data-dir', dataDir]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /12-digit account id/);
  });
});
