/**
 * The "log reset" event: what `keyhold serve --audit-reset` records when it starts on an
 * audit log that is missing, behind or replaced with respect to its anchor. It names the
 * old anchor and what was found, so the gap stays visible: `keyhold audit verify` reports
 * every reset instead of a silent OK.
 */
import { randomUUID } from 'node:crypto';
import type { AuditHead } from '../storage/repository.js';
import type { AuditAnchor } from './anchor.js';
import type { AuditInput, JsonObject } from './event.js';

export const RESET_EVENT_NAME = 'KeyholdAuditLogReset';

/** Whom the reset event is addressed to (the node's Region and administrator account). */
export interface ResetRecipient {
  region: string;
  accountId: string;
}

/** One reset found by verify. */
export interface AuditReset {
  seq: number;
  eventTime: string;
  reason: string;
  previousAnchor: { seq: number; chainHash: string } | null;
}

export function resetEventInput(
  to: ResetRecipient,
  reason: string,
  anchor: AuditAnchor | undefined,
  head: AuditHead | undefined,
): AuditInput {
  const data: JsonObject = {
    reason,
    previousAnchor:
      anchor === undefined
        ? null
        : { seq: anchor.seq, chainHash: anchor.chainHash.toString('hex') },
    logHeadFound:
      head === undefined ? null : { seq: head.seq, chainHash: head.chainHash.toString('hex') },
  };
  return {
    requestId: randomUUID(),
    eventTime: new Date(),
    operation: RESET_EVENT_NAME,
    region: to.region,
    sourceIp: '',
    userAgent: 'keyhold serve --audit-reset',
    recipientAccountId: to.accountId,
    input: undefined,
    output: undefined,
    keyArns: [],
    readOnly: false,
    additionalEventData: data,
  };
}

/** The reset an event body records, or undefined when it is not a reset event. */
export function resetOf(
  seq: number,
  event: { eventName?: unknown; eventTime?: unknown; additionalEventData?: unknown },
): AuditReset | undefined {
  if (event.eventName !== RESET_EVENT_NAME) return undefined;
  const d = (event.additionalEventData ?? {}) as {
    reason?: unknown;
    previousAnchor?: { seq?: unknown; chainHash?: unknown } | null;
  };
  const p = d.previousAnchor;
  return {
    seq,
    eventTime: String(event.eventTime),
    reason: typeof d.reason === 'string' ? d.reason : '',
    previousAnchor:
      p === null || p === undefined ? null : { seq: Number(p.seq), chainHash: String(p.chainHash) },
  };
}
