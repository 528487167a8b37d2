/**
 * The audit log: appends hash-chained events with group commit.
 *
 * record() resolves only once its event is in a committed transaction, and rejects
 * when that transaction fails, so that the request runner can refuse a request it
 * could not record (STYLE.md §9). Events recorded while the event loop is busy with
 * the current phase, or while a write is in flight, go out together in one
 * `appendAudit` call: one transaction (one fsync) per batch, not per request.
 * Per event, the hot path builds and serializes the event once and computes one HMAC.
 */

import type { AuditHead, AuditQuery, AuditRepository, AuditRow } from '../storage/repository.js';
import { chainHash, FIRST_SEQ, GENESIS_HASH, headMac, macEqual } from './chain.js';
import { buildEvent, eventIndex, type AuditInput } from './event.js';
import { verifyAudit, type AuditVerifyResult } from './verify.js';

/** Thrown (or used to reject record()) when the audit log cannot take an event. */
export class AuditError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditError';
  }
}

export interface AuditLogOptions {
  /** Most events per appendAudit call (default 512). */
  maxBatch?: number;
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

  constructor(
    private readonly repo: AuditRepository,
    private readonly auditKey: Buffer,
    opts?: AuditLogOptions,
  ) {
    /* Precondition: the audit key is at least 256 bits. */
    if (auditKey.length < 32) throw new RangeError('audit key must be at least 32 bytes');
    this.maxBatch = Math.max(1, opts?.maxBatch ?? DEFAULT_MAX_BATCH);
  }

  /** Open the log on a repository: loads and authenticates the chain head. */
  static async open(
    repo: AuditRepository,
    auditKey: Buffer,
    opts?: AuditLogOptions,
  ): Promise<AuditLog> {
    const log = new AuditLog(repo, auditKey, opts);
    await log.loadHead();
    return log;
  }

  /** The last committed sequence number (0 when empty). */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Record one request's event. Resolves once the event is durably stored; rejects
   * with an AuditError when it could not be stored (the request must then fail).
   */
  record(input: AuditInput): Promise<void> {
    if (this.closed) return Promise.reject(new AuditError('audit log is closed'));
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
    return verifyAudit(this.repo, this.auditKey, { live: true });
  }

  /** Flush, then refuse further records. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
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
