/**
 * The audit log: appends hash-chained events with group commit.
 *
 * record() resolves only once its event is in a committed transaction, and rejects
 * when that transaction fails, so that the request runner can refuse a request it
 * could not record (docs/audit.md: no result without its event). Events recorded while
 * the event loop is busy with the current phase, or while a write is in flight, go out
 * together in one `appendAudit` call: one transaction (one fsync) per batch, not per
 * request.
 * Per event, the hot path builds and serializes the event once and computes one HMAC.
 *
 * Around the chain: the anchor in the main database is checked at open and moved forward on
 * a one-second tick and at close (anchor.ts); a request on another account's key is also
 * recorded for the key's owner (CloudTrail's cross-account delivery, one `sharedEventID`);
 * unauthenticated requests are aggregated (unauthenticated.ts).
 */

import { randomUUID } from 'node:crypto';
import type { AuditHead, AuditQuery, AuditRepository, AuditRow } from '../storage/repository.js';
import { anchorProblem, makeAnchor, type AuditAnchorStore } from './anchor.js';
import { chainHash, FIRST_SEQ, GENESIS_HASH, headMac, macEqual } from './chain.js';
import { buildEvent, eventIndex, type AuditInput } from './event.js';
import { resetEventInput, type ResetRecipient } from './log-reset.js';
import { UnauthenticatedAggregator } from './unauthenticated.js';
import { verifyAudit, type AuditVerifyResult } from './verify.js';

/** Thrown (or used to reject record()) when the audit log cannot take an event. */
export class AuditError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
  }
}

/** The log is missing, behind or replaced with respect to its anchor: refuse to start. */
export class AuditAnchorError extends AuditError {
  constructor(message: string) {
    super(message);
    this.name = 'AuditAnchorError';
  }
}

export interface AuditAnchorOptions {
  store: AuditAnchorStore;
  chainId: string;
  /** The main database had history before this start (read before it made its first domain key). */
  hasHistory: boolean;
  /** Set: record a log reset (naming the old anchor) instead of refusing a bad log. */
  reset?: ResetRecipient | undefined;
}

export interface AuditLogOptions {
  /** Most events per appendAudit call (default 512). */
  maxBatch?: number;
  anchor?: AuditAnchorOptions | undefined;
  /** Aggregate unauthenticated requests (default true; unit tests of the chain turn it off). */
  aggregateUnauthenticated?: boolean;
  /** Anchor and aggregation tick, ms (default 1000). */
  tickMs?: number;
  /** Background failures (an anchor write, a summary event) that fail no request. */
  onBackgroundError?: (err: unknown) => void;
}

interface Pending {
  row: Omit<AuditRow, 'seq' | 'chainHash'>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const DEFAULT_MAX_BATCH = 512;

export class AuditLog {
  private readonly maxBatch: number;
  private pending: Pending[] = [];
  private flushWaiters: Array<() => void> = [];
  private scheduled = false;
  private writing = false;
  private closed = false;
  private loaded = false;
  private seq = FIRST_SEQ - 1;
  private lastHash: Buffer = GENESIS_HASH;
  private readonly anchor: AuditAnchorOptions | undefined;
  private anchoredSeq = -1;
  private anchorWrite: Promise<void> | undefined;
  private readonly aggregator: UnauthenticatedAggregator | undefined;
  private readonly onBackgroundError: (err: unknown) => void;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly repo: AuditRepository,
    private readonly auditKey: Buffer,
    opts?: AuditLogOptions,
  ) {
    /* Precondition: the audit key is at least 256 bits. */
    if (auditKey.length < 32) throw new RangeError('audit key must be at least 32 bytes');
    this.maxBatch = Math.max(1, opts?.maxBatch ?? DEFAULT_MAX_BATCH);
    this.anchor = opts?.anchor;
    this.aggregator =
      opts?.aggregateUnauthenticated === false ? undefined : new UnauthenticatedAggregator();
    this.onBackgroundError = opts?.onBackgroundError ?? (() => undefined);
  }

  /**
   * Open the log on a repository: loads and authenticates the chain head, then checks it
   * against its anchor (AuditAnchorError when it is behind, missing or replaced, unless a
   * reset was asked for: then the reset is recorded and the anchor moved).
   */
  static async open(
    repo: AuditRepository,
    auditKey: Buffer,
    opts?: AuditLogOptions,
  ): Promise<AuditLog> {
    const log = new AuditLog(repo, auditKey, opts);
    await log.loadHead();
    if (log.anchor !== undefined) await log.checkAnchor(log.anchor);
    const tickMs = opts?.tickMs ?? 1000;
    if (tickMs > 0 && (log.anchor !== undefined || log.aggregator !== undefined)) {
      log.timer = setInterval(() => log.tick(), tickMs);
      log.timer.unref();
    }
    return log;
  }

  /** The last committed sequence number (0 when empty). */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Record one request's event. Resolves once the event is durably stored; rejects
   * with an AuditError when it could not be stored (the request must then fail). An
   * unauthenticated request that only adds to an open aggregation window resolves at once:
   * the first of its window was stored, its count goes into the window's summary.
   */
  record(input: AuditInput): Promise<void> {
    if (this.closed) return Promise.reject(new AuditError('audit log is closed'));
    if (input.principal === undefined && this.aggregator !== undefined) {
      // The summary names the first event by its id: fix it now.
      const first = input.eventId !== undefined ? input : { ...input, eventId: randomUUID() };
      const agg = this.aggregator;
      const { full, closed } = agg.admit(first);
      for (const summary of closed) this.recordInBackground(summary);
      if (!full) return Promise.resolve();
      return this.append(first).catch((err: unknown) => {
        for (const summary of agg.abandon(first)) this.recordInBackground(summary);
        throw err;
      });
    }
    const owners = foreignOwners(input);
    if (owners.length === 0) return this.append(input);
    // CloudTrail delivers a cross-account call to the caller's and to the key owner's account.
    const shared = randomUUID();
    return Promise.all([
      this.append({ ...input, sharedEventId: shared }),
      ...owners.map((owner) =>
        this.append({
          ...input,
          eventId: undefined,
          recipientAccountId: owner,
          sharedEventId: shared,
        }),
      ),
    ]).then(() => undefined);
  }

  private append(input: AuditInput): Promise<void> {
    let row: Pending['row'];
    try {
      const event = buildEvent(input);
      row = { ...eventIndex(event), body: JSON.stringify(event) };
    } catch (err) {
      return Promise.reject(new AuditError('cannot build audit event', { cause: err }));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      this.schedule();
    });
  }

  private recordInBackground(input: AuditInput): void {
    this.append(input).catch((err: unknown) => this.onBackgroundError(err));
  }

  /** The one-second tick: close ended aggregation windows, move the anchor forward. */
  private tick(): void {
    if (this.closed) return;
    for (const summary of this.aggregator?.drain(false) ?? []) this.recordInBackground(summary);
    void this.writeAnchor();
  }

  /** Move the anchor to the last committed position, one write at a time. */
  private async writeAnchor(): Promise<void> {
    const a = this.anchor;
    if (a === undefined) return;
    while (this.anchorWrite !== undefined) await this.anchorWrite;
    const seq = this.seq;
    const hash = this.lastHash;
    if (seq <= this.anchoredSeq) return;
    this.anchorWrite = a.store
      .putAnchor(a.chainId, makeAnchor(this.auditKey, a.chainId, seq, hash))
      .then(
        () => {
          this.anchoredSeq = Math.max(this.anchoredSeq, seq);
        },
        (err: unknown) => this.onBackgroundError(err),
      )
      .finally(() => {
        this.anchorWrite = undefined;
      });
    await this.anchorWrite;
  }

  private async checkAnchor(a: AuditAnchorOptions): Promise<void> {
    const head = await this.repo.getAuditHead();
    const anchor = await a.store.getAnchor(a.chainId);
    const problem = await anchorProblem(
      this.repo,
      this.auditKey,
      a.chainId,
      anchor,
      head,
      a.hasHistory,
    );
    if (problem === undefined) {
      // An unanchored log (first start, or one written before anchors existed) is anchored now.
      if (anchor === undefined) await this.writeAnchor();
      else this.anchoredSeq = anchor.seq;
      return;
    }
    if (a.reset === undefined) {
      throw new AuditAnchorError(
        `${problem}. keyhold refuses to start on it; start with --audit-reset ` +
          '(KEYHOLD_AUDIT_RESET=1) to record a log reset and continue',
      );
    }
    if (head === undefined && (await this.repo.readAudit(0, 1)).length > 0) {
      throw new AuditAnchorError(
        'the audit log has events but no head; move it aside before resetting',
      );
    }
    await this.append(resetEventInput(a.reset, problem, anchor, head));
    await this.writeAnchor();
  }

  /** Resolves when every event recorded so far has been written (or has failed). */
  flush(): Promise<void> {
    if (this.pending.length === 0 && !this.writing && !this.scheduled) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.flushWaiters.push(resolve);
      this.schedule();
    });
  }

  /** Stored events matching a query, oldest or newest first (the admin API's QueryAudit). */
  query(q: AuditQuery): Promise<AuditRow[]> {
    return this.repo.queryAudit(q);
  }

  /** Verify the chain up to the current head while requests go on being recorded. */
  async verify(): Promise<AuditVerifyResult> {
    await this.flush();
    const a = this.anchor;
    // The anchor first: it never passes the head that verify then reads.
    const anchor =
      a === undefined
        ? undefined
        : { chainId: a.chainId, anchor: await a.store.getAnchor(a.chainId), hasHistory: false };
    return verifyAudit(this.repo, this.auditKey, {
      live: true,
      ...(anchor !== undefined ? { anchor } : {}),
    });
  }

  /** Record the open aggregation windows, flush, anchor the final head; refuse further records. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const summary of this.aggregator?.drain(true) ?? []) this.recordInBackground(summary);
    this.closed = true;
    await this.flush();
    await this.writeAnchor();
  }

  private async loadHead(): Promise<void> {
    const head = await this.repo.getAuditHead();
    if (head === undefined) {
      this.seq = FIRST_SEQ - 1;
      this.lastHash = GENESIS_HASH;
    } else {
      /* Precondition: the stored head was written by a holder of the audit key. */
      if (!macEqual(head.mac, headMac(this.auditKey, head.seq, head.chainHash))) {
        throw new AuditError('audit head MAC is invalid: the audit log was tampered with');
      }
      this.seq = head.seq;
      this.lastHash = head.chainHash;
    }
    this.loaded = true;
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every request answered in this loop phase joins.
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    this.writing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        await this.writeBatch(batch);
      }
    } finally {
      this.writing = false;
      const waiters = this.flushWaiters;
      this.flushWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    try {
      if (!this.loaded) await this.loadHead();
      let seq = this.seq;
      let hash = this.lastHash;
      const rows: AuditRow[] = new Array<AuditRow>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i] as Pending;
        seq += 1;
        hash = chainHash(this.auditKey, hash, seq, p.row.body);
        rows[i] = { ...p.row, seq, chainHash: hash };
      }
      const head: AuditHead = { seq, chainHash: hash, mac: headMac(this.auditKey, seq, hash) };
      await this.repo.appendAudit(rows, head);
      this.seq = seq;
      this.lastHash = hash;
    } catch (err) {
      const failure = new AuditError('audit event could not be stored', { cause: err });
      for (const p of batch) p.reject(failure);
      // The store may have moved (another writer) or be unreachable: reload next time.
      this.loaded = false;
      return;
    }
    for (const p of batch) p.resolve();
  }
}

/** Accounts other than the recipient's that own a key the request used (cross-account use). */
function foreignOwners(input: AuditInput): string[] {
  if (input.principal === undefined || input.keyArns.length === 0) return [];
  const owners = new Set<string>();
  for (const arn of input.keyArns) {
    const account = arn.split(':')[4];
    if (account !== undefined && account !== '' && account !== input.recipientAccountId)
      owners.add(account);
  }
  return [...owners];
}
