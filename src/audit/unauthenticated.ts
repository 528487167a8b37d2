/**
 * Unauthenticated requests (no signature, an unknown access key, a wrong signature, an
 * unknown target) cost the caller nothing, so they must cost keyhold little too. They are
 * aggregated per (source IP, event name, error code) over a one-minute window: the first
 * request of a window is recorded in full and durably before it is answered, like any other;
 * the others of that window are only counted, and one summary event carries the count when
 * the window closes (at the first request after it, on the log's one-second tick, or at
 * shutdown). A kill -9 loses at most the counts of the open windows, never a first event.
 *
 * Memory and writes are bounded whatever the caller varies: at most MAX_BUCKETS_PER_SOURCE
 * full events per source and MAX_BUCKETS overall per window; past either, requests are only
 * counted, per source (or all together), under the event name KeyholdUnauthenticatedRequests.
 */
import { randomUUID } from 'node:crypto';
import type { AuditInput, JsonObject } from './event.js';
import {
  MAX_ERROR_MESSAGE_BYTES,
  MAX_EVENT_NAME_BYTES,
  MAX_USER_AGENT_BYTES,
  truncateUtf8,
} from './event-bounds.js';

export const AGGREGATE_WINDOW_MS = 60_000;
export const MAX_BUCKETS = 1024;
export const MAX_BUCKETS_PER_SOURCE = 32;
/** Sources past MAX_BUCKETS that still get a count of their own. */
export const MAX_OVERFLOW_SOURCES = 256;
/** The event name of the summaries of requests counted past the bucket limits. */
export const OVERFLOW_EVENT_NAME = 'KeyholdUnauthenticatedRequests';

interface Bucket {
  openedAt: number;
  /** What the summary repeats of the first request (bounded: at most a few KB per window). */
  template: AuditInput;
  firstEventId: string | undefined;
  firstTime: Date;
  lastTime: Date;
  /** Requests counted after the first (the summary's count). */
  count: number;
  /** Overflow buckets only: requests by error code. */
  errorCodes?: Record<string, number>;
  source: string;
}

export interface AggregatorOptions {
  windowMs?: number;
  /** Monotonic milliseconds (tests pass their own). */
  now?: () => number;
}

export class UnauthenticatedAggregator {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perSource = new Map<string, number>();
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(opts: AggregatorOptions = {}) {
    this.windowMs = opts.windowMs ?? AGGREGATE_WINDOW_MS;
    this.now = opts.now ?? (() => performance.now());
  }

  /**
   * Admit one unauthenticated request. `full` says whether it must be recorded in full (the
   * first of its window); `closed` holds summaries of windows this request ended.
   */
  admit(input: AuditInput): { full: boolean; closed: AuditInput[] } {
    const closed: AuditInput[] = [];
    const key = this.keyOf(input);
    let b = this.buckets.get(key);
    if (b !== undefined && this.now() - b.openedAt >= this.windowMs) {
      this.close(key, b, closed);
      b = undefined;
    }
    if (b !== undefined) {
      this.count(b, input);
      return { full: false, closed };
    }
    const sourceCount = this.perSource.get(input.sourceIp) ?? 0;
    if (this.buckets.size < MAX_BUCKETS && sourceCount < MAX_BUCKETS_PER_SOURCE) {
      this.open(key, input, input.sourceIp, false);
      return { full: true, closed };
    }
    // Past a limit: count per source while there is room for its bucket, else all together.
    const own = `${input.sourceIp}\0*`;
    const okey =
      this.buckets.has(own) || this.buckets.size < MAX_BUCKETS + MAX_OVERFLOW_SOURCES
        ? own
        : '*\0*';
    const overflowSource = okey === own ? input.sourceIp : '*';
    let o = this.buckets.get(okey);
    if (o !== undefined && this.now() - o.openedAt >= this.windowMs) {
      this.close(okey, o, closed);
      o = undefined;
    }
    o ??= this.open(okey, input, overflowSource, true);
    this.count(o, input);
    return { full: false, closed };
  }

  /**
   * The first event of `input`'s window could not be stored: end the window, so the next
   * such request is recorded in full again. Returns the summary of what it counted since.
   */
  abandon(input: AuditInput): AuditInput[] {
    const key = this.keyOf(input);
    const b = this.buckets.get(key);
    const out: AuditInput[] = [];
    if (b !== undefined && b.firstEventId === input.eventId) this.close(key, b, out);
    return out;
  }

  /** Summaries of the windows that have ended (every window when `all`). */
  drain(all: boolean): AuditInput[] {
    const out: AuditInput[] = [];
    const t = this.now();
    for (const [key, b] of this.buckets) {
      if (all || t - b.openedAt >= this.windowMs) this.close(key, b, out);
    }
    return out;
  }

  /** Open windows (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  private keyOf(input: AuditInput): string {
    // The target is the caller's (up to a header's size): key on what the event will show.
    const name = truncateUtf8(input.operation, MAX_EVENT_NAME_BYTES);
    return `${input.sourceIp}\0${name}\0${input.errorCode ?? ''}`;
  }

  private open(key: string, input: AuditInput, source: string, overflow: boolean): Bucket {
    const template: AuditInput = {
      ...input,
      operation: overflow
        ? OVERFLOW_EVENT_NAME
        : truncateUtf8(input.operation, MAX_EVENT_NAME_BYTES),
      sourceIp: source,
      userAgent: overflow ? '' : truncateUtf8(input.userAgent, MAX_USER_AGENT_BYTES),
      input: undefined,
      output: undefined,
      keyArns: [],
      ...(overflow
        ? { errorCode: undefined, errorMessage: undefined }
        : input.errorMessage !== undefined
          ? { errorMessage: truncateUtf8(input.errorMessage, MAX_ERROR_MESSAGE_BYTES) }
          : {}),
    };
    const b: Bucket = {
      openedAt: this.now(),
      template,
      firstEventId: overflow ? undefined : input.eventId,
      firstTime: input.eventTime,
      lastTime: input.eventTime,
      count: 0,
      source,
      ...(overflow ? { errorCodes: {} } : {}),
    };
    this.buckets.set(key, b);
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    return b;
  }

  private count(b: Bucket, input: AuditInput): void {
    b.count += 1;
    b.lastTime = input.eventTime;
    if (b.errorCodes !== undefined) {
      const code = input.errorCode ?? 'None';
      b.errorCodes[code] = (b.errorCodes[code] ?? 0) + 1;
    }
  }

  private close(key: string, b: Bucket, out: AuditInput[]): void {
    this.buckets.delete(key);
    const n = (this.perSource.get(b.source) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(b.source);
    else this.perSource.set(b.source, n);
    if (b.count === 0) return; // the first event alone says it all
    const data: JsonObject = {
      aggregatedRequests: b.count,
      firstEventTime: b.firstTime.toISOString(),
      lastEventTime: b.lastTime.toISOString(),
      windowSeconds: Math.round(this.windowMs / 1000),
    };
    if (b.firstEventId !== undefined) data['firstEventID'] = b.firstEventId;
    if (b.errorCodes !== undefined) data['errorCodes'] = b.errorCodes;
    out.push({
      ...b.template,
      requestId: randomUUID(),
      eventId: undefined,
      eventTime: b.lastTime,
      additionalEventData: data,
    });
  }
}
