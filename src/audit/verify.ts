/**
 * `keyhold audit verify`: walk the whole chain and report the first problem.
 *
 * Detects a modified body (hash mismatch), a removed event (seq gap), reordered or
 * inserted events (hash mismatch: each hash covers the previous hash and the seq),
 * index columns that disagree with the body (a query would miss the event), and a
 * truncated tail or forged head (head MAC, head seq and head hash checked last), and, given
 * the chain's anchor from the main database, an emptied, cut back or replaced log
 * (anchor.ts). Log resets recorded in the chain are reported, never passed over.
 */

import type { AuditRepository, AuditRow } from '../storage/repository.js';
import { anchorProblem, type AuditAnchor } from './anchor.js';
import { chainHash, FIRST_SEQ, GENESIS_HASH, headMac, macEqual } from './chain.js';
import { eventIndex, type CloudTrailEvent } from './event.js';
import { resetOf, type AuditReset } from './log-reset.js';

export interface AuditVerifyResult {
  ok: boolean;
  /** Events checked (up to the first problem). */
  events: number;
  problem?: { seq: number; reason: string };
  /** The verified head: keep it elsewhere and pass it back as `expect` to detect a rollback. */
  head?: { seq: number; chainHash: Buffer };
  /** The anchor checked (undefined when none was given or none is stored). */
  anchor?: { seq: number; chainHash: Buffer };
  /** Log resets recorded in the chain, oldest first. */
  resets: AuditReset[];
}

export interface VerifyOptions {
  /** A running node: verify up to the head as it stood when verify began. */
  live?: boolean;
  /** The chain's anchor as stored in the main database. */
  anchor?: { chainId: string; anchor: AuditAnchor | undefined; hasHistory: boolean };
  /** A position kept outside keyhold (from an earlier verify): the log must still hold it. */
  expect?: { seq: number; chainHash: Buffer };
}

const PAGE = 1000;

/** Compare the stored query columns with those derived from the body. */
function indexProblem(row: AuditRow, resets: AuditReset[]): string | undefined {
  let event: CloudTrailEvent;
  try {
    event = JSON.parse(row.body) as CloudTrailEvent;
  } catch {
    return 'event body is not valid JSON';
  }
  const reset = resetOf(row.seq, event);
  if (reset !== undefined) resets.push(reset);
  const idx = eventIndex(event);
  if (idx.eventId !== row.eventId) return 'event_id column does not match the event body';
  if (idx.eventTime !== row.eventTime) return 'event_time column does not match the event body';
  if (idx.eventName !== row.eventName) return 'event_name column does not match the event body';
  if (idx.principalArn !== row.principalArn) {
    return 'principal_arn column does not match the event body';
  }
  if (idx.keyArns !== row.keyArns) return 'key_arns column does not match the event body';
  return undefined;
}

/** Verify every stored audit event and the head, in seq order, page by page. */
export async function verifyAudit(
  repo: AuditRepository,
  auditKey: Buffer,
  opts: VerifyOptions = {},
): Promise<AuditVerifyResult> {
  // A running node keeps appending: check up to the head as it stood when we began.
  const liveHead = opts.live === true ? await repo.getAuditHead() : undefined;
  const stopAt = opts.live === true ? (liveHead?.seq ?? 0) : Infinity;
  const resets: AuditReset[] = [];
  const fail = (events: number, seq: number, reason: string): AuditVerifyResult => ({
    ok: false,
    events,
    problem: { seq, reason },
    resets,
  });
  let prevHash = GENESIS_HASH;
  let expectedSeq = FIRST_SEQ;
  let events = 0;
  walk: for (;;) {
    const page = await repo.readAudit(expectedSeq - 1, PAGE);
    if (page.length === 0) break;
    for (const row of page) {
      if (row.seq > stopAt) break walk;
      if (row.seq !== expectedSeq) {
        return fail(events, expectedSeq, `event ${expectedSeq} is missing (next is ${row.seq})`);
      }
      if (!macEqual(row.chainHash, chainHash(auditKey, prevHash, row.seq, row.body))) {
        return fail(events, row.seq, 'chain hash mismatch: event modified, reordered or forged');
      }
      const bad = indexProblem(row, resets);
      if (bad !== undefined) return fail(events, row.seq, bad);
      prevHash = row.chainHash;
      expectedSeq += 1;
      events += 1;
    }
  }
  const lastSeq = expectedSeq - 1;
  const head = opts.live === true ? liveHead : await repo.getAuditHead();
  const a = opts.anchor;
  const anchor =
    a?.anchor !== undefined ? { seq: a.anchor.seq, chainHash: a.anchor.chainHash } : undefined;
  const checkAnchor = async (): Promise<string | undefined> =>
    a === undefined
      ? undefined
      : anchorProblem(repo, auditKey, a.chainId, a.anchor, head, a.hasHistory);
  const e = opts.expect;
  if (head === undefined) {
    if (events !== 0) return fail(events, lastSeq, 'audit head is missing');
    const bad = await checkAnchor();
    if (bad !== undefined) return fail(0, anchor?.seq ?? 0, bad);
    if (e !== undefined && e.seq > 0)
      return fail(0, e.seq, `the audit log is empty, but it held seq ${e.seq} before`);
    return { ok: true, events, resets, ...(anchor !== undefined ? { anchor } : {}) };
  }
  if (!macEqual(head.mac, headMac(auditKey, head.seq, head.chainHash))) {
    return fail(events, head.seq, 'audit head MAC is invalid');
  }
  if (head.seq > lastSeq) {
    return fail(events, lastSeq + 1, `events ${lastSeq + 1}..${head.seq} are missing (truncated)`);
  }
  if (head.seq !== lastSeq || !macEqual(head.chainHash, prevHash)) {
    return fail(events, lastSeq, `audit head (seq ${head.seq}) does not match the last event`);
  }
  const bad = await checkAnchor();
  if (bad !== undefined) return fail(events, anchor?.seq ?? 0, bad);
  if (e !== undefined && e.seq > 0) {
    const row = e.seq <= head.seq ? (await repo.readAudit(e.seq - 1, 1))[0] : undefined;
    if (row === undefined || row.seq !== e.seq || !macEqual(row.chainHash, e.chainHash))
      return fail(
        events,
        e.seq,
        `the audit log no longer holds seq ${e.seq} with the expected chain hash: rolled back or replaced`,
      );
  }
  return {
    ok: true,
    events,
    resets,
    head: { seq: head.seq, chainHash: head.chainHash },
    ...(anchor !== undefined ? { anchor } : {}),
  };
}
