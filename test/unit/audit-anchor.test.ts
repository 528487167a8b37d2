/**
 * The audit anchor against real SQLite files: an AuditLog over audit tables in one file and
 * its anchor in keyhold.db's kms_meta (a real, migrated SqliteStorage) in another. What the
 * anchor must catch (an emptied, cut back or replaced log, a forged anchor) and what it must
 * let through (a log ahead of its anchor, as a crash leaves it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import Database from '../../src/storage/sqlite/driver.js';
import { AuditAnchorError, AuditLog } from '../../src/audit/audit-log.js';
import { decodeAnchor, encodeAnchor, type AuditAnchor } from '../../src/audit/anchor.js';
import type { AuditInput } from '../../src/audit/event.js';
import { RESET_EVENT_NAME } from '../../src/audit/log-reset.js';
import { verifyAudit } from '../../src/audit/verify.js';
import { AUDIT_SCHEMA_SQL, SqliteAuditRepository } from '../../src/storage/sqlite/sqlite-audit.js';
import { SqliteAuditAnchors } from '../../src/storage/sqlite/sqlite-audit-anchors.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';

const ACCOUNT = '111122223333';
const CHAIN = 'local';

let dir: string;
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyhold-anchor-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Fixture {
  db: BetterSqlite3.Database;
  repo: SqliteAuditRepository;
  main: SqliteStorage;
  anchors: SqliteAuditAnchors;
  key: Buffer;
}

function fixture(key = randomBytes(32)): Fixture {
  n += 1;
  const db = new Database(join(dir, `audit-${n}.db`));
  db.exec(AUDIT_SCHEMA_SQL);
  const main = new SqliteStorage(join(dir, `keyhold-${n}.db`));
  return {
    db,
    repo: new SqliteAuditRepository(db),
    main,
    anchors: new SqliteAuditAnchors(main.db),
    key,
  };
}

function event(i: number): AuditInput {
  return {
    requestId: `req-${i}`,
    eventTime: new Date(Date.UTC(2026, 2, 1, 12, 0, i)),
    operation: 'Encrypt',
    region: 'us-east-1',
    sourceIp: '192.0.2.1',
    userAgent: 'test',
    principal: {
      accountId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:root`,
      type: 'Root',
      accessKeyId: 'AKIAEXAMPLE',
      userId: ACCOUNT,
    },
    recipientAccountId: ACCOUNT,
    input: { KeyId: 'k' },
    output: undefined,
    keyArns: [],
    readOnly: false,
  };
}

const open = (f: Fixture, opts: { hasHistory?: boolean; reset?: boolean } = {}) =>
  AuditLog.open(f.repo, f.key, {
    tickMs: 0,
    anchor: {
      store: f.anchors,
      chainId: CHAIN,
      hasHistory: opts.hasHistory ?? true,
      reset: opts.reset === true ? { region: 'us-east-1', accountId: ACCOUNT } : undefined,
    },
  });

/** A log of `count` events, closed (so anchored at its head). */
async function written(count: number, f = fixture()): Promise<Fixture> {
  const log = await open(f, { hasHistory: false });
  for (let i = 1; i <= count; i++) await log.record(event(i));
  await log.close();
  return f;
}

const verifyWithAnchor = async (f: Fixture, hasHistory = true) =>
  verifyAudit(f.repo, f.key, {
    anchor: { chainId: CHAIN, anchor: await f.anchors.getAnchor(CHAIN), hasHistory },
  });

function emptyLog(f: Fixture): void {
  f.db.exec('DELETE FROM audit_events; DELETE FROM audit_head;');
}

describe('audit anchor', () => {
  it('is written at close at the head, and moved forward again at the next close', async () => {
    const f = await written(3);
    const a = (await f.anchors.getAnchor(CHAIN)) as AuditAnchor;
    const head = await f.repo.getAuditHead();
    assert.equal(a.seq, 3);
    assert.ok(head !== undefined && a.chainHash.equals(head.chainHash));
    const log = await open(f);
    await log.record(event(4));
    await log.close();
    assert.equal((await f.anchors.getAnchor(CHAIN))?.seq, 4);
    assert.equal((await verifyWithAnchor(f)).ok, true);
  });

  it('moves forward on the tick without a close', async () => {
    const f = fixture();
    const log = await AuditLog.open(f.repo, f.key, {
      tickMs: 20,
      anchor: { store: f.anchors, chainId: CHAIN, hasHistory: false },
    });
    await log.record(event(1));
    await log.record(event(2));
    const deadline = Date.now() + 2000;
    while ((await f.anchors.getAnchor(CHAIN))?.seq !== 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal((await f.anchors.getAnchor(CHAIN))?.seq, 2);
    await log.close();
  });

  it('accepts a log ahead of its anchor (a crash before the anchor moved)', async () => {
    const f = await written(2);
    const early = await f.anchors.getAnchor(CHAIN);
    const log = await open(f);
    for (let i = 3; i <= 6; i++) await log.record(event(i));
    await log.close();
    // The state a kill -9 leaves: events committed, the anchor still at seq 2.
    await f.anchors.putAnchor(CHAIN, early as AuditAnchor);
    const r = await verifyWithAnchor(f);
    assert.equal(r.ok, true, r.problem?.reason);
    assert.equal(r.events, 6);
    assert.equal(r.anchor?.seq, 2);
    const again = await open(f);
    assert.equal(again.lastSeq, 6);
    await again.close();
  });

  it('refuses an emptied log (events and head deleted), in open and verify', async () => {
    const f = await written(5);
    emptyLog(f);
    // Without the anchor, an emptied log verifies: this is what the anchor adds.
    assert.equal((await verifyAudit(f.repo, f.key)).ok, true);
    const r = await verifyWithAnchor(f);
    assert.equal(r.ok, false);
    assert.match(r.problem?.reason ?? '', /missing or empty, but its anchor records seq 5/);
    await assert.rejects(open(f), (e: unknown) => {
      assert.ok(e instanceof AuditAnchorError);
      assert.match(e.message, /events were deleted\. keyhold refuses to start.*--audit-reset/);
      return true;
    });
    // Nothing was written by the refused start.
    assert.equal((await f.repo.readAudit(0, 10)).length, 0);
  });

  it('refuses a log cut back behind its anchor, with a genuine older head', async () => {
    const f = await written(3);
    const oldHead = await f.repo.getAuditHead();
    const log = await open(f);
    for (let i = 4; i <= 8; i++) await log.record(event(i));
    await log.close();
    // Restore the genuine seq-3 head and drop what came after: the chain alone is consistent.
    f.db.exec('DELETE FROM audit_events WHERE seq > 3');
    f.db
      .prepare('UPDATE audit_head SET seq = ?, chain_hash = ?, mac = ?')
      .run(oldHead?.seq, oldHead?.chainHash, oldHead?.mac);
    assert.equal((await verifyAudit(f.repo, f.key)).ok, true);
    const r = await verifyWithAnchor(f);
    assert.equal(r.ok, false);
    assert.match(r.problem?.reason ?? '', /ends at seq 3, behind its anchor \(seq 8/);
    await assert.rejects(open(f), AuditAnchorError);
  });

  it('refuses a log replaced by another chain under the same key', async () => {
    const key = randomBytes(32);
    const f = await written(4, fixture(key));
    const other = await written(6, fixture(key));
    // Swap in the other chain's events and head (longer: "ahead" by length alone).
    f.db.exec('DELETE FROM audit_events; DELETE FROM audit_head;');
    for (const r of await other.repo.readAudit(0, 100)) {
      f.db
        .prepare(
          'INSERT INTO audit_events (seq, event_id, event_time, event_name, principal_arn, key_arns, body, chain_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          r.seq,
          r.eventId,
          r.eventTime,
          r.eventName,
          r.principalArn,
          r.keyArns,
          r.body,
          r.chainHash,
        );
    }
    const h = await other.repo.getAuditHead();
    f.db
      .prepare('INSERT INTO audit_head (id, seq, chain_hash, mac) VALUES (1, ?, ?, ?)')
      .run(h?.seq, h?.chainHash, h?.mac);
    const r = await verifyWithAnchor(f);
    assert.equal(r.ok, false);
    assert.match(r.problem?.reason ?? '', /does not hold the anchored event \(seq 4.*replaced/);
    await assert.rejects(open(f), AuditAnchorError);
  });

  it('refuses an empty, unanchored log when the main database has history', async () => {
    const f = await written(2);
    emptyLog(f);
    f.main.db.exec("DELETE FROM kms_meta WHERE name LIKE 'audit_anchor:%'");
    const r = await verifyWithAnchor(f, true);
    assert.equal(r.ok, false);
    assert.match(r.problem?.reason ?? '', /has history and no audit anchor/);
    await assert.rejects(open(f, { hasHistory: true }), AuditAnchorError);
    // A first start (no history) is fine, and anchors the empty chain.
    const fresh = await open(f, { hasHistory: false });
    await fresh.close();
  });

  it('refuses a forged or malformed anchor', async () => {
    const f = await written(2);
    const a = (await f.anchors.getAnchor(CHAIN)) as AuditAnchor;
    await f.anchors.putAnchor(CHAIN, { ...a, seq: 1 });
    assert.match((await verifyWithAnchor(f)).problem?.reason ?? '', /anchor .* is invalid/);
    await assert.rejects(open(f), AuditAnchorError);
    f.main.db
      .prepare("UPDATE kms_meta SET value = 'v1:junk' WHERE name = 'audit_anchor:local'")
      .run();
    assert.equal((await verifyWithAnchor(f)).ok, false);
    assert.equal(decodeAnchor(encodeAnchor(a)).seq, 2);
  });

  it('--audit-reset records a reset naming the old anchor; verify reports it; the anchor moves', async () => {
    const f = await written(5);
    const old = (await f.anchors.getAnchor(CHAIN)) as AuditAnchor;
    emptyLog(f);
    const log = await open(f, { reset: true });
    await log.record(event(100));
    await log.close();
    const rows = await f.repo.readAudit(0, 10);
    assert.equal(rows.length, 2);
    assert.equal(rows[0]?.eventName, RESET_EVENT_NAME);
    const body = JSON.parse(rows[0]?.body ?? '{}') as {
      additionalEventData: { previousAnchor: { seq: number; chainHash: string }; reason: string };
      recipientAccountId: string;
    };
    assert.deepEqual(body.additionalEventData.previousAnchor, {
      seq: 5,
      chainHash: old.chainHash.toString('hex'),
    });
    assert.match(body.additionalEventData.reason, /events were deleted/);
    assert.equal(body.recipientAccountId, ACCOUNT);
    const r = await verifyWithAnchor(f);
    assert.equal(r.ok, true, r.problem?.reason);
    assert.equal(r.resets.length, 1);
    assert.equal(r.resets[0]?.seq, 1);
    assert.equal(r.resets[0]?.previousAnchor?.seq, 5);
    assert.equal((await f.anchors.getAnchor(CHAIN))?.seq, 2);
    // The next start is normal again (and records no second reset, flag or not).
    const again = await open(f, { reset: true });
    await again.close();
    assert.equal((await f.repo.readAudit(0, 10)).length, 2);
  });

  it('verify --expect catches a rollback to an older genuine state (anchor rolled back too)', async () => {
    const f = await written(3);
    const savedHead = await f.repo.getAuditHead();
    const savedAnchor = await f.anchors.getAnchor(CHAIN);
    const log = await open(f);
    for (let i = 4; i <= 7; i++) await log.record(event(i));
    await log.close();
    const kept = (await verifyWithAnchor(f)).head;
    assert.equal(kept?.seq, 7);
    // Roll back both files to the seq-3 state: the anchor cannot see it, --expect does.
    f.db.exec('DELETE FROM audit_events WHERE seq > 3');
    f.db
      .prepare('UPDATE audit_head SET seq = ?, chain_hash = ?, mac = ?')
      .run(savedHead?.seq, savedHead?.chainHash, savedHead?.mac);
    await f.anchors.putAnchor(CHAIN, savedAnchor as AuditAnchor);
    assert.equal((await verifyWithAnchor(f)).ok, true);
    const r = await verifyAudit(f.repo, f.key, {
      expect: kept as { seq: number; chainHash: Buffer },
    });
    assert.equal(r.ok, false);
    assert.match(r.problem?.reason ?? '', /no longer holds seq 7/);
  });
});
