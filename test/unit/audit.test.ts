import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import Database from '../../src/storage/sqlite/driver.js';
import { AuditError, AuditLog } from '../../src/audit/audit-log.js';
import { chainHash, GENESIS_HASH, headMac } from '../../src/audit/chain.js';
import { buildEvent, formatCloudTrailDate, type AuditInput } from '../../src/audit/event.js';
import { verifyAudit, type AuditVerifyResult } from '../../src/audit/verify.js';
import { AUDIT_SCHEMA_SQL, SqliteAuditRepository } from '../../src/storage/sqlite/sqlite-audit.js';
import type { AuditHead, AuditRepository, AuditRow } from '../../src/storage/repository.js';

const ACCOUNT = '111122223333';
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER_KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;
const ROOT_ARN = `arn:aws:iam::${ACCOUNT}:root`;
const ALICE_ARN = `arn:aws:iam::${ACCOUNT}:user/Alice`;

function input(overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    requestId: 'req-1',
    eventTime: new Date('2026-03-01T12:00:00.123Z'),
    operation: 'Decrypt',
    region: 'us-east-1',
    sourceIp: '192.0.2.10',
    userAgent: 'aws-cli/2.0',
    principal: {
      accountId: ACCOUNT,
      arn: ROOT_ARN,
      type: 'Root',
      accessKeyId: 'AKIAEXAMPLE',
      userId: ACCOUNT,
    },
    recipientAccountId: ACCOUNT,
    input: { KeyId: KEY_ARN, EncryptionContext: { Project: 'Alpha' } },
    output: { KeyId: KEY_ARN },
    keyArns: [KEY_ARN],
    readOnly: true,
    ...overrides,
  };
}

/** The verdict and the count of a verify result (its head and resets are checked elsewhere). */
function okAndCount(r: AuditVerifyResult): { ok: boolean; events: number } {
  return { ok: r.ok, events: r.events };
}

/** True if a Buffer / Uint8Array appears anywhere in the value. */
function containsBinary(v: unknown): boolean {
  if (v instanceof Uint8Array) return true;
  if (v !== null && typeof v === 'object') return Object.values(v).some(containsBinary);
  return false;
}

interface Fixture {
  db: BetterSqlite3.Database;
  repo: SqliteAuditRepository;
  key: Buffer;
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyhold-audit-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;
function fixture(): Fixture {
  const db = new Database(join(dir, `audit-${++counter}.db`));
  db.pragma('journal_mode = WAL');
  db.exec(AUDIT_SCHEMA_SQL);
  return { db, repo: new SqliteAuditRepository(db), key: randomBytes(32) };
}

/** A fixture holding `n` recorded events (seq 1..n), the odd ones by Alice on another key. */
async function filled(n: number): Promise<Fixture> {
  const f = fixture();
  const log = await AuditLog.open(f.repo, f.key);
  for (let i = 1; i <= n; i++) {
    const odd = i % 2 === 1;
    await log.record(
      input({
        requestId: `req-${i}`,
        eventTime: new Date(Date.UTC(2026, 2, 1, 12, 0, i)),
        operation: odd ? 'Encrypt' : 'Decrypt',
        keyArns: odd ? [OTHER_KEY_ARN] : [KEY_ARN],
        principal: odd
          ? {
              accountId: ACCOUNT,
              arn: ALICE_ARN,
              type: 'IAMUser',
              accessKeyId: 'AKIA1',
              userId: 'AIDA1',
            }
          : input().principal,
      }),
    );
  }
  await log.close();
  return f;
}

/** Wraps a repository, counting appends and failing the next `failNext` of them. */
class SpyRepo implements AuditRepository {
  appends = 0;
  failNext = 0;
  constructor(private readonly inner: AuditRepository) {}
  async appendAudit(rows: AuditRow[], head: AuditHead): Promise<void> {
    this.appends += 1;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('disk full');
    }
    return this.inner.appendAudit(rows, head);
  }
  getAuditHead(): Promise<AuditHead | undefined> {
    return this.inner.getAuditHead();
  }
  readAudit(afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.inner.readAudit(afterSeq, limit);
  }
  queryAudit(query: Parameters<AuditRepository['queryAudit']>[0]): Promise<AuditRow[]> {
    return this.inner.queryAudit(query);
  }
}

describe('buildEvent', () => {
  it('has the CloudTrail envelope', () => {
    const e = buildEvent(input());
    assert.equal(e.eventVersion, '1.08');
    assert.equal(e.eventSource, 'kms.amazonaws.com');
    assert.equal(e.eventType, 'AwsApiCall');
    assert.equal(e.eventTime, '2026-03-01T12:00:00Z');
    assert.equal(e.requestID, 'req-1');
    assert.match(e.eventID, /^[0-9a-f-]{36}$/);
    assert.deepEqual(e.userIdentity, {
      type: 'Root',
      principalId: ACCOUNT,
      arn: ROOT_ARN,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAEXAMPLE',
    });
    assert.deepEqual(e.resources, [{ ARN: KEY_ARN, accountId: ACCOUNT, type: 'AWS::KMS::Key' }]);
    assert.equal(e.responseElements, null);
  });

  it('never contains a Buffer nor the plaintext, in request or response', () => {
    const plaintext = randomBytes(48);
    const b64 = plaintext.toString('base64');
    const e = buildEvent(
      input({
        operation: 'GenerateDataKey',
        input: {
          KeyId: KEY_ARN,
          NumberOfBytes: 32,
          EncryptionContext: { Project: 'Alpha' },
          GrantTokens: ['token-secret'],
          Plaintext: plaintext,
          Recipient: {
            KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
            AttestationDocument: plaintext,
          },
        },
        output: { KeyId: KEY_ARN, Plaintext: plaintext, CiphertextBlob: randomBytes(100) },
      }),
    );
    const json = JSON.stringify(e);
    assert.ok(!json.includes(b64), 'base64 plaintext leaked');
    assert.ok(!json.includes(plaintext.toString('hex')), 'hex plaintext leaked');
    assert.ok(!json.includes('token-secret'), 'grant token leaked');
    assert.ok(!containsBinary(e));
    assert.deepEqual(e.requestParameters, {
      keyId: KEY_ARN,
      numberOfBytes: 32,
      encryptionContext: { Project: 'Alpha' },
      recipient: { keyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256' },
    });
    assert.equal(e.responseElements, null);
  });

  it('drops base64 strings given for blob members and sensitive string members', () => {
    const e = buildEvent(
      input({
        operation: 'CreateCustomKeyStore',
        input: {
          CustomKeyStoreName: 'store',
          CloudHsmClusterId: 'cluster-1',
          KeyStorePassword: 'hunter2',
          XksProxyAuthenticationCredential: { AccessKeyId: 'A', RawSecretAccessKey: 'S' },
        },
        output: { CustomKeyStoreId: 'cks-1' },
        keyArns: [],
      }),
    );
    assert.deepEqual(e.requestParameters, { customKeyStoreName: 'store', clusterId: 'cluster-1' });
    assert.deepEqual(e.responseElements, { customKeyStoreId: 'cks-1' });
    assert.equal(e.resources, undefined);
    assert.ok(!JSON.stringify(e).includes('hunter2'));
  });

  it('keeps encryption context keys verbatim and adds the default algorithm to Decrypt', () => {
    const e = buildEvent(
      input({
        input: { CiphertextBlob: 'AQIDBA==', EncryptionContext: { AppName: 'x', bucket: 'y' } },
      }),
    );
    assert.deepEqual(e.requestParameters, {
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      encryptionContext: { AppName: 'x', bucket: 'y' },
    });
    assert.ok(!JSON.stringify(e).includes('AQIDBA=='));
  });

  it('records keyMetadata for CreateKey with CloudTrail dates', () => {
    const created = new Date('2022-08-10T22:38:27Z');
    const e = buildEvent(
      input({
        operation: 'CreateKey',
        readOnly: false,
        input: { KeySpec: 'SYMMETRIC_DEFAULT', Policy: '{"Version":"2012-10-17"}' },
        output: {
          KeyMetadata: {
            AWSAccountId: ACCOUNT,
            KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
            Arn: KEY_ARN,
            CreationDate: created,
            Enabled: true,
            EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
          },
        },
      }),
    );
    assert.deepEqual(e.requestParameters, {
      keySpec: 'SYMMETRIC_DEFAULT',
      policy: '{"Version":"2012-10-17"}',
    });
    assert.deepEqual(e.responseElements, {
      keyMetadata: {
        AWSAccountId: ACCOUNT,
        keyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
        arn: KEY_ARN,
        creationDate: 'Aug 10, 2022, 10:38:27 PM',
        enabled: true,
        encryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
      },
    });
  });

  it('records ScheduleKeyDeletion and CreateGrant response elements', () => {
    const s = buildEvent(
      input({
        operation: 'ScheduleKeyDeletion',
        output: {
          KeyId: KEY_ARN,
          DeletionDate: new Date('2021-04-12T06:58:30Z'),
          KeyState: 'PendingDeletion',
          PendingWindowInDays: 20,
        },
      }),
    );
    assert.deepEqual(s.responseElements, {
      keyId: KEY_ARN,
      deletionDate: 'Apr 12, 2021, 6:58:30 AM',
      keyState: 'PendingDeletion',
      pendingWindowInDays: 20,
    });
    const g = buildEvent(
      input({ operation: 'CreateGrant', output: { GrantId: 'g-1', GrantToken: 'secret-token' } }),
    );
    assert.deepEqual(g.responseElements, { grantId: 'g-1', keyId: KEY_ARN });
  });

  it('records failures and unauthenticated callers', () => {
    const e = buildEvent(
      input({
        principal: undefined,
        errorCode: 'UnrecognizedClientException',
        errorMessage: 'The security token included in the request is invalid.',
        output: undefined,
        keyArns: [],
      }),
    );
    assert.deepEqual(e.userIdentity, { type: 'Unknown' });
    assert.equal(e.errorCode, 'UnrecognizedClientException');
    assert.equal(e.responseElements, null);
    const keys = Object.keys(e);
    assert.ok(keys.indexOf('errorCode') < keys.indexOf('requestParameters'));
  });

  it('describes IAM users and assumed roles', () => {
    const u = buildEvent(
      input({
        principal: {
          accountId: ACCOUNT,
          arn: ALICE_ARN,
          type: 'IAMUser',
          accessKeyId: 'AK',
          userId: 'AIDA1',
        },
      }),
    );
    assert.equal(u.userIdentity.userName, 'Alice');
    assert.equal(u.userIdentity.principalId, 'AIDA1');
    const r = buildEvent(
      input({
        principal: {
          accountId: ACCOUNT,
          arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Admin/sess`,
          type: 'AssumedRole',
          accessKeyId: 'ASIA1',
          userId: 'AROA1:sess',
        },
      }),
    );
    assert.equal(
      r.userIdentity.sessionContext?.sessionIssuer.arn,
      `arn:aws:iam::${ACCOUNT}:role/Admin`,
    );
  });

  it('formats CloudTrail dates at midnight and noon', () => {
    assert.equal(
      formatCloudTrailDate(new Date('2026-11-22T00:01:02Z')),
      'Nov 22, 2026, 12:01:02 AM',
    );
    assert.equal(
      formatCloudTrailDate(new Date('2026-11-22T12:00:00Z')),
      'Nov 22, 2026, 12:00:00 PM',
    );
  });
});

describe('AuditLog', () => {
  it('round-trips events through SQLite', async () => {
    const f = fixture();
    const log = await AuditLog.open(f.repo, f.key);
    await log.record(input({ requestId: 'a' }));
    await log.record(input({ requestId: 'b', operation: 'Encrypt' }));
    const rows = await f.repo.readAudit(0, 10);
    assert.deepEqual(
      rows.map((r) => r.seq),
      [1, 2],
    );
    const first = rows[0];
    assert.ok(first);
    assert.equal(first.eventName, 'Decrypt');
    assert.equal(first.principalArn, ROOT_ARN);
    assert.equal(first.keyArns, KEY_ARN);
    assert.equal(first.eventTime, '2026-03-01T12:00:00Z');
    const body = JSON.parse(first.body) as { requestID: string; eventID: string };
    assert.equal(body.requestID, 'a');
    assert.equal(body.eventID, first.eventId);
    assert.ok(first.chainHash.equals(chainHash(f.key, GENESIS_HASH, 1, first.body)));
    const head = await f.repo.getAuditHead();
    assert.equal(head?.seq, 2);
    assert.equal(log.lastSeq, 2);
  });

  it('group-commits concurrent records into few appends', async () => {
    const f = fixture();
    const spy = new SpyRepo(f.repo);
    const log = await AuditLog.open(spy, f.key, { maxBatch: 100 });
    const n = 250;
    await Promise.all(
      Array.from({ length: n }, (_, i) => log.record(input({ requestId: `r${i}` }))),
    );
    assert.ok(spy.appends <= 3, `expected ≤ 3 appends, got ${spy.appends}`);
    const rows = await f.repo.readAudit(0, 1000);
    assert.equal(rows.length, n);
    // seq order follows record() order
    assert.deepEqual(
      rows.map((r) => (JSON.parse(r.body) as { requestID: string }).requestID),
      Array.from({ length: n }, (_, i) => `r${i}`),
    );
    assert.deepEqual(okAndCount(await verifyAudit(f.repo, f.key)), { ok: true, events: n });
  });

  it('rejects every record of a batch whose append fails, then recovers', async () => {
    const f = fixture();
    const spy = new SpyRepo(f.repo);
    const log = await AuditLog.open(spy, f.key);
    await log.record(input({ requestId: 'ok-1' }));
    spy.failNext = 1;
    const results = await Promise.allSettled([
      log.record(input({ requestId: 'lost-1' })),
      log.record(input({ requestId: 'lost-2' })),
    ]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.status === 'rejected' && r.reason instanceof AuditError);
    }
    await log.record(input({ requestId: 'ok-2' }));
    const rows = await f.repo.readAudit(0, 10);
    assert.deepEqual(
      rows.map((r) => (JSON.parse(r.body) as { requestID: string }).requestID),
      ['ok-1', 'ok-2'],
    );
    assert.deepEqual(okAndCount(await verifyAudit(f.repo, f.key)), { ok: true, events: 2 });
  });

  it('flushes on close and refuses records afterwards', async () => {
    const f = fixture();
    const log = await AuditLog.open(f.repo, f.key);
    const p = log.record(input());
    await log.close();
    await p;
    assert.equal((await f.repo.readAudit(0, 10)).length, 1);
    await assert.rejects(log.record(input()), AuditError);
  });

  it('continues an existing chain after reopening', async () => {
    const f = await filled(3);
    const log = await AuditLog.open(f.repo, f.key);
    await log.record(input());
    assert.equal(log.lastSeq, 4);
    assert.deepEqual(okAndCount(await verifyAudit(f.repo, f.key)), { ok: true, events: 4 });
  });

  it('refuses to open on a head with a bad MAC', async () => {
    const f = await filled(2);
    f.db.prepare('UPDATE audit_head SET mac = ?').run(randomBytes(32));
    await assert.rejects(AuditLog.open(f.repo, f.key), AuditError);
  });
});

describe('verifyAudit', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await filled(5);
  });

  it('accepts an untouched log and an empty one', async () => {
    assert.deepEqual(okAndCount(await verifyAudit(f.repo, f.key)), { ok: true, events: 5 });
    const empty = fixture();
    assert.deepEqual(okAndCount(await verifyAudit(empty.repo, empty.key)), { ok: true, events: 0 });
  });

  it('fails with another key', async () => {
    const r = await verifyAudit(f.repo, randomBytes(32));
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 1);
  });

  it('detects a modified body', async () => {
    f.db
      .prepare(
        "UPDATE audit_events SET body = replace(body, '192.0.2.10', '192.0.2.99') WHERE seq = 3",
      )
      .run();
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 3);
    assert.equal(r.events, 2);
  });

  it('detects a modified index column', async () => {
    f.db.prepare("UPDATE audit_events SET key_arns = '' WHERE seq = 2").run();
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.problem?.seq, 2);
    assert.match(r.problem?.reason ?? '', /key_arns/);
  });

  it('detects a deleted middle event', async () => {
    f.db.prepare('DELETE FROM audit_events WHERE seq = 3').run();
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 3);
    assert.match(r.problem?.reason ?? '', /missing/);
  });

  it('detects a deleted middle event with later events renumbered', async () => {
    f.db.prepare('DELETE FROM audit_events WHERE seq = 3').run();
    f.db.prepare('UPDATE audit_events SET seq = seq - 1 WHERE seq > 3').run();
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 3);
  });

  it('detects swapped events', async () => {
    f.db.exec(`
      UPDATE audit_events SET seq = -1 WHERE seq = 2;
      UPDATE audit_events SET seq = 2 WHERE seq = 4;
      UPDATE audit_events SET seq = 4 WHERE seq = -1;
    `);
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 2);
  });

  it('detects a truncated tail', async () => {
    f.db.prepare('DELETE FROM audit_events WHERE seq >= 4').run();
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 4);
    assert.match(r.problem?.reason ?? '', /truncated/);
  });

  it('detects a deleted head', async () => {
    f.db.prepare('DELETE FROM audit_head').run();
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.ok, false);
  });

  it('detects rows and a head forged without the key', async () => {
    const forger = randomBytes(32);
    const last = (await f.repo.readAudit(4, 1))[0];
    assert.ok(last);
    const body = last.body.replace(/"requestID":"[^"]*"/, '"requestID":"forged"');
    const hash = chainHash(forger, last.chainHash, 6, body);
    f.db
      .prepare(
        `INSERT INTO audit_events (seq, event_id, event_time, event_name, principal_arn, key_arns, body, chain_hash)
         VALUES (6, 'forged-id', ?, ?, ?, ?, ?, ?)`,
      )
      .run(last.eventTime, last.eventName, last.principalArn, last.keyArns, body, hash);
    f.db
      .prepare('UPDATE audit_head SET seq = 6, chain_hash = ?, mac = ?')
      .run(hash, headMac(forger, 6, hash));
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 6);
    assert.equal(r.events, 5);
  });

  it('detects an inserted event', async () => {
    const copy = (await f.repo.readAudit(2, 1))[0];
    assert.ok(copy);
    // Make room at seq 3 (via negative seqs: the primary key is checked per row).
    f.db.exec(`
      UPDATE audit_events SET seq = -(seq + 1) WHERE seq > 2;
      UPDATE audit_events SET seq = -seq WHERE seq < 0;
    `);
    f.db
      .prepare(
        `INSERT INTO audit_events (seq, event_id, event_time, event_name, principal_arn, key_arns, body, chain_hash)
         VALUES (3, 'inserted', ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        copy.eventTime,
        copy.eventName,
        copy.principalArn,
        copy.keyArns,
        copy.body,
        copy.chainHash,
      );
    const r = await verifyAudit(f.repo, f.key);
    assert.equal(r.ok, false);
    assert.equal(r.problem?.seq, 3);
  });
});

describe('SqliteAuditRepository.queryAudit', () => {
  it('filters by key, principal, event name, time and seq', async () => {
    const f = await filled(6);
    const seqs = async (q: Omit<Parameters<SqliteAuditRepository['queryAudit']>[0], 'limit'>) =>
      (await f.repo.queryAudit({ limit: 100, ...q })).map((r) => r.seq);
    assert.deepEqual(await seqs({ keyArn: KEY_ARN }), [2, 4, 6]);
    assert.deepEqual(await seqs({ keyArn: KEY_ARN.slice(0, -2) }), []);
    assert.deepEqual(await seqs({ principalArn: ALICE_ARN }), [1, 3, 5]);
    assert.deepEqual(await seqs({ eventName: 'Decrypt' }), [2, 4, 6]);
    assert.deepEqual(
      await seqs({ from: '2026-03-01T12:00:02Z', to: '2026-03-01T12:00:04Z' }),
      [2, 3, 4],
    );
    assert.deepEqual(await seqs({ afterSeq: 4 }), [5, 6]);
    assert.deepEqual(await seqs({ eventName: 'Encrypt', afterSeq: 1 }), [3, 5]);
    assert.deepEqual(
      (await f.repo.queryAudit({ limit: 2 })).map((r) => r.seq),
      [1, 2],
    );
  });

  it('matches a key among several on one event', async () => {
    const f = fixture();
    const log = await AuditLog.open(f.repo, f.key);
    await log.record(input({ operation: 'ReEncrypt', keyArns: [KEY_ARN, OTHER_KEY_ARN] }));
    assert.equal((await f.repo.queryAudit({ keyArn: OTHER_KEY_ARN, limit: 10 })).length, 1);
    assert.equal((await f.repo.queryAudit({ keyArn: KEY_ARN, limit: 10 })).length, 1);
  });
});
