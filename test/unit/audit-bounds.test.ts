/**
 * Bounded audit events: CloudTrail's field limits (userAgent 1 KB, requestParameters and
 * responseElements 100 KB, `omitted: true` when cut), the aggregation of unauthenticated
 * requests, and the owner's copy of a cross-account event.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from '../../src/storage/sqlite/driver.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { buildEvent, type AuditInput } from '../../src/audit/event.js';
import {
  MAX_PARAMETERS_BYTES,
  MAX_USER_AGENT_BYTES,
  truncateUtf8,
} from '../../src/audit/event-bounds.js';
import {
  MAX_BUCKETS,
  MAX_BUCKETS_PER_SOURCE,
  OVERFLOW_EVENT_NAME,
  UnauthenticatedAggregator,
} from '../../src/audit/unauthenticated.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { AUDIT_SCHEMA_SQL, SqliteAuditRepository } from '../../src/storage/sqlite/sqlite-audit.js';

const A = '111122223333';
const B = '444455556666';
const KEY_A = `arn:aws:kms:us-east-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function input(o: Partial<AuditInput> = {}): AuditInput {
  return {
    requestId: 'req',
    eventTime: new Date('2026-03-01T12:00:00Z'),
    operation: 'Decrypt',
    region: 'us-east-1',
    sourceIp: '192.0.2.10',
    userAgent: 'aws-cli/2.0',
    principal: {
      accountId: A,
      arn: `arn:aws:iam::${A}:root`,
      type: 'Root',
      accessKeyId: 'AKIAEXAMPLE',
      userId: A,
    },
    recipientAccountId: A,
    input: { KeyId: KEY_A },
    output: undefined,
    keyArns: [KEY_A],
    readOnly: true,
    ...o,
  };
}

const unauthenticated = (o: Partial<AuditInput> = {}) =>
  input({
    principal: undefined,
    errorCode: 'MissingAuthenticationTokenException',
    errorMessage: 'Missing Authentication Token',
    keyArns: [],
    input: undefined,
    ...o,
  });

let dir: string;
let count = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyhold-audit-bounds-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function repo(): SqliteAuditRepository {
  const db = new Database(join(dir, `a-${++count}.db`));
  db.exec(AUDIT_SCHEMA_SQL);
  return new SqliteAuditRepository(db);
}

describe('event size limits', () => {
  it('truncateUtf8 never cuts a character', () => {
    assert.equal(truncateUtf8('abc', 10), 'abc');
    assert.equal(truncateUtf8('aé', 2), 'a'); // é is 2 bytes
    assert.equal(truncateUtf8('€€', 5), '€'); // € is 3 bytes
    assert.equal(truncateUtf8('😀x', 3), '');
  });

  it('an ordinary event is unchanged and unmarked', () => {
    const e = buildEvent(input({ input: { KeyId: KEY_A, EncryptionContext: { a: 'b' } } }));
    assert.equal(e.omitted, undefined);
    assert.equal(e.additionalEventData, undefined);
    assert.deepEqual(e.requestParameters?.['encryptionContext'], { a: 'b' });
  });

  it('a 15 KB User-Agent is cut to 1 KB and marked', () => {
    const e = buildEvent(input({ userAgent: 'u'.repeat(15_000) }));
    assert.equal(e.userAgent.length, MAX_USER_AGENT_BYTES);
    assert.equal(e.omitted, true);
    assert.deepEqual(e.additionalEventData, { truncatedFields: ['userAgent'] });
  });

  it('a 900 KB encryption context leaves an event under 110 KB with the small members kept', () => {
    const ctx: Record<string, string> = {};
    for (let i = 0; i < 900; i++) ctx[`key-${i}`] = 'v'.repeat(1000);
    const e = buildEvent(
      input({
        input: { KeyId: KEY_A, EncryptionContext: ctx },
        errorCode: 'AccessDeniedException',
        errorMessage: 'denied',
      }),
    );
    const size = Buffer.byteLength(JSON.stringify(e));
    assert.ok(size < 110 * 1024, `event is ${size} bytes`);
    assert.ok(Buffer.byteLength(JSON.stringify(e.requestParameters)) <= MAX_PARAMETERS_BYTES);
    assert.equal(e.omitted, true);
    assert.deepEqual(e.additionalEventData, { truncatedFields: ['requestParameters'] });
    assert.equal(e.requestParameters?.['keyId'], KEY_A);
    assert.equal(e.requestParameters?.['encryptionAlgorithm'], 'SYMMETRIC_DEFAULT');
    const kept = e.requestParameters?.['encryptionContext'] as Record<string, string>;
    // As many whole pairs as fit; never a cut value.
    assert.ok(Object.keys(kept).length > 90 && Object.keys(kept).length < 102);
    assert.ok(Object.values(kept).every((v) => v.length === 1000));
  });

  it('caps the event name (an unknown target) and the error message', () => {
    const e = buildEvent(
      unauthenticated({ operation: 'X'.repeat(20_000), errorMessage: 'm'.repeat(50_000) }),
    );
    assert.ok(e.eventName.length <= 128);
    assert.ok((e.errorMessage ?? '').length <= 4096);
    assert.deepEqual(e.additionalEventData, { truncatedFields: ['eventName', 'errorMessage'] });
  });
});

describe('unauthenticated aggregation', () => {
  it('3,000 requests from one source: the first in full, one summary with the rest', async () => {
    const r = repo();
    const log = await AuditLog.open(r, randomBytes(32), { tickMs: 0 });
    for (let i = 0; i < 3000; i++)
      await log.record(unauthenticated({ requestId: `r${i}`, userAgent: 'u'.repeat(15_000) }));
    assert.equal((await r.readAudit(0, 10)).length, 1, 'only the first is written at once');
    await log.close();
    const rows = await r.readAudit(0, 10);
    assert.equal(rows.length, 2);
    const [first, summary] = rows.map(
      (x) =>
        JSON.parse(x.body) as {
          requestID: string;
          eventID: string;
          userAgent: string;
          errorCode: string;
          additionalEventData?: { aggregatedRequests?: number; firstEventID?: string };
        },
    );
    assert.equal(first?.requestID, 'r0');
    assert.equal(first?.userAgent.length, 1024);
    assert.equal(summary?.errorCode, 'MissingAuthenticationTokenException');
    assert.equal(summary?.additionalEventData?.aggregatedRequests, 2999);
    assert.equal(summary?.additionalEventData?.firstEventID, first?.eventID);
    const total = rows.reduce((s, x) => s + x.body.length, 0);
    assert.ok(total < 5000, `${total} bytes for 3,000 requests`);
  });

  it('distinct operations and error codes each get their first event in full', () => {
    const agg = new UnauthenticatedAggregator();
    assert.equal(agg.admit(unauthenticated()).full, true);
    assert.equal(agg.admit(unauthenticated()).full, false);
    assert.equal(agg.admit(unauthenticated({ operation: 'Encrypt' })).full, true);
    assert.equal(agg.admit(unauthenticated({ errorCode: 'InvalidSignatureException' })).full, true);
    assert.equal(agg.admit(unauthenticated({ sourceIp: '192.0.2.99' })).full, true);
  });

  it('a window ends after a minute: its summary is written and the next request is full', () => {
    let t = 0;
    const agg = new UnauthenticatedAggregator({ now: () => t });
    agg.admit(unauthenticated());
    agg.admit(unauthenticated());
    agg.admit(unauthenticated());
    t = 59_999;
    assert.deepEqual(agg.drain(false), []);
    t = 60_000;
    const next = agg.admit(unauthenticated());
    assert.equal(next.full, true);
    assert.equal(next.closed.length, 1);
    assert.equal(next.closed[0]?.additionalEventData?.['aggregatedRequests'], 2);
    // A window that saw only its first request needs no summary.
    t = 200_000;
    assert.deepEqual(agg.drain(false), []);
    assert.equal(agg.size, 0);
  });

  it('varying the target or the source cannot make every request a full event', () => {
    const agg = new UnauthenticatedAggregator();
    let full = 0;
    for (let i = 0; i < 500; i++)
      if (agg.admit(unauthenticated({ operation: `Op${i}` })).full) full += 1;
    assert.equal(full, MAX_BUCKETS_PER_SOURCE);
    for (let i = 0; i < 5000; i++)
      if (agg.admit(unauthenticated({ sourceIp: `10.0.${i >> 8}.${i & 255}` })).full) full += 1;
    // The source's overflow count takes one of the MAX_BUCKETS windows.
    assert.equal(full, MAX_BUCKETS - 1);
    assert.ok(agg.size <= MAX_BUCKETS + 257, `${agg.size} open windows`);
    const summaries = agg.drain(true);
    const overflow = summaries.filter((s) => s.operation === OVERFLOW_EVENT_NAME);
    const counted = overflow.reduce(
      (s, x) => s + Number(x.additionalEventData?.['aggregatedRequests']),
      0,
    );
    assert.equal(counted, 5500 - full);
    assert.ok(overflow.some((s) => s.sourceIp === '*'));
  });

  it('a first event that could not be stored does not open a window', async () => {
    const r = repo();
    let fail = true;
    const flaky = Object.assign(Object.create(r) as SqliteAuditRepository, {
      appendAudit: (
        rows: Parameters<SqliteAuditRepository['appendAudit']>[0],
        head: Parameters<SqliteAuditRepository['appendAudit']>[1],
      ) => (fail ? Promise.reject(new Error('disk full')) : r.appendAudit(rows, head)),
    });
    const log = await AuditLog.open(flaky, randomBytes(32), { tickMs: 0 });
    await assert.rejects(log.record(unauthenticated({ requestId: 'lost' })));
    fail = false;
    // The next one is written in full (and awaited), not merely counted.
    await log.record(unauthenticated({ requestId: 'next' }));
    const rows = await r.readAudit(0, 10);
    assert.deepEqual(
      rows.map((x) => (JSON.parse(x.body) as { requestID: string }).requestID),
      ['next'],
    );
    await log.close();
  });

  it('an authenticated request is never aggregated', async () => {
    const r = repo();
    const log = await AuditLog.open(r, randomBytes(32), { tickMs: 0 });
    for (let i = 0; i < 5; i++) await log.record(input({ requestId: `a${i}`, keyArns: [] }));
    assert.equal((await r.readAudit(0, 10)).length, 5);
    await log.close();
  });
});

describe('cross-account events', () => {
  it("a call on another account's key is recorded for the caller and for the owner", async () => {
    const r = repo();
    const key = randomBytes(32);
    const log = await AuditLog.open(r, key, { tickMs: 0 });
    await log.record(
      input({
        eventId: 'caller-event',
        principal: {
          accountId: B,
          arn: `arn:aws:iam::${B}:user/oscar`,
          type: 'IAMUser',
          accessKeyId: 'AKIAOSCAR',
          userId: 'AIDAOSCAR',
        },
        recipientAccountId: B,
      }),
    );
    // Same account: one event, no sharedEventID.
    await log.record(input({ requestId: 'own' }));
    await log.close();
    const events = (await r.readAudit(0, 10)).map(
      (x) =>
        JSON.parse(x.body) as {
          eventID: string;
          requestID: string;
          recipientAccountId: string;
          sharedEventID?: string;
          userIdentity: { accountId: string };
        },
    );
    assert.equal(events.length, 3);
    const [caller, owner, own] = events;
    assert.equal(caller?.recipientAccountId, B);
    assert.equal(caller?.eventID, 'caller-event');
    assert.equal(owner?.recipientAccountId, A);
    assert.equal(owner?.userIdentity.accountId, B);
    assert.notEqual(owner?.eventID, caller?.eventID);
    assert.equal(owner?.requestID, caller?.requestID);
    assert.match(caller?.sharedEventID ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(owner?.sharedEventID, caller?.sharedEventID);
    assert.equal(own?.sharedEventID, undefined);
    assert.equal((await verifyAudit(r, key)).ok, true);
  });
});
