/**
 * The audit log in PostgreSQL, one hash chain per writer: `chain_id` is the node id, each
 * node appends to its own chain (seq 1, 2, ... with its own head), and `keyhold audit
 * verify` verifies every chain. Appends lock the chain's head row (SELECT ... FOR UPDATE)
 * and refuse a batch that does not continue the stored head, so two processes that were
 * wrongly given the same node id cannot fork a chain: one of them fails its batch and
 * reloads the head (AuditLog does that on any failure).
 */
import type { AuditHead, AuditQuery, AuditRepository, AuditRow } from '../repository.js';
import type { PgDb } from './pg-db.js';
import type { Row } from './pg-rows.js';

const COLUMNS = 'seq, event_id, event_time, event_name, principal_arn, key_arns, body, chain_hash';

function toAuditRow(r: Row): AuditRow {
  return {
    seq: Number(r.seq),
    eventId: String(r.event_id),
    eventTime: String(r.event_time),
    eventName: String(r.event_name),
    principalArn: r.principal_arn === null ? null : String(r.principal_arn),
    keyArns: String(r.key_arns),
    body: String(r.body),
    chainHash: r.chain_hash as Buffer,
  };
}

const FILTERS: ReadonlyArray<{ key: keyof AuditQuery; sql: (n: number) => string }> = [
  { key: 'afterSeq', sql: (n) => `seq > $${n}` },
  { key: 'beforeSeq', sql: (n) => `seq < $${n}` },
  { key: 'keyArn', sql: (n) => `strpos(' ' || key_arns || ' ', ' ' || $${n} || ' ') > 0` },
  { key: 'principalArn', sql: (n) => `principal_arn = $${n}` },
  { key: 'eventName', sql: (n) => `event_name = $${n}` },
  { key: 'from', sql: (n) => `event_time >= $${n}` },
  { key: 'to', sql: (n) => `event_time <= $${n}` },
];

export class PgAuditRepository implements AuditRepository {
  constructor(
    private readonly db: PgDb,
    readonly chainId: string,
  ) {}

  /** Every chain id in the store (for verify). */
  static async listChains(db: PgDb): Promise<string[]> {
    const r = await db.query('SELECT chain_id FROM audit_heads ORDER BY chain_id');
    return r.rows.map((x: Row) => String(x.chain_id));
  }

  async appendAudit(rows: AuditRow[], head: AuditHead): Promise<void> {
    if (rows.length === 0) return;
    const first = rows[0] as AuditRow;
    // One statement, so one round trip and one commit: lock the head, and insert the events
    // and move the head only if the batch continues the stored head.
    const r = await this.db.query(
      `WITH h AS (
         SELECT coalesce((SELECT seq FROM audit_heads WHERE chain_id = $1 FOR UPDATE), 0) AS seq
       ), ins AS (
         INSERT INTO audit_events (chain_id, ${COLUMNS})
         SELECT $1, u.* FROM h, unnest($2::bigint[], $3::text[], $4::text[], $5::text[],
           $6::text[], $7::text[], $8::text[], $9::bytea[]) AS u
         WHERE h.seq = $10
         RETURNING 1
       ), hd AS (
         INSERT INTO audit_heads (chain_id, seq, chain_hash, mac)
         SELECT $1, $11, $12, $13 FROM h WHERE h.seq = $10
         ON CONFLICT (chain_id) DO UPDATE SET seq = excluded.seq,
           chain_hash = excluded.chain_hash, mac = excluded.mac
         RETURNING 1
       )
       SELECT (SELECT seq FROM h) AS stored, (SELECT count(*) FROM ins) AS n`,
      [
        this.chainId,
        rows.map((r) => r.seq),
        rows.map((r) => r.eventId),
        rows.map((r) => r.eventTime),
        rows.map((r) => r.eventName),
        rows.map((r) => r.principalArn),
        rows.map((r) => r.keyArns),
        rows.map((r) => r.body),
        rows.map((r) => r.chainHash),
        first.seq - 1,
        head.seq,
        head.chainHash,
        head.mac,
      ],
    );
    const out = r.rows[0];
    if (Number(out?.n ?? 0) !== rows.length) {
      throw new Error(
        `audit chain ${this.chainId} is at seq ${String(out?.stored)}, not ${first.seq - 1}: another process writes with this node id`,
      );
    }
  }

  async getAuditHead(): Promise<AuditHead | undefined> {
    const r = await this.db.query(
      'SELECT seq, chain_hash, mac FROM audit_heads WHERE chain_id = $1',
      [this.chainId],
    );
    const x = r.rows[0];
    if (x === undefined) return undefined;
    return { seq: Number(x.seq), chainHash: x.chain_hash as Buffer, mac: x.mac as Buffer };
  }

  async readAudit(afterSeq: number, limit: number): Promise<AuditRow[]> {
    const r = await this.db.query(
      `SELECT ${COLUMNS} FROM audit_events WHERE chain_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [this.chainId, afterSeq, limit],
    );
    return r.rows.map(toAuditRow);
  }

  /** Matching rows of this chain in seq order (or newest first). */
  async queryAudit(query: AuditQuery): Promise<AuditRow[]> {
    const where = ['chain_id = $1'];
    const params: unknown[] = [this.chainId];
    for (const f of FILTERS) {
      const v = query[f.key];
      if (v === undefined) continue;
      params.push(v);
      where.push(f.sql(params.length));
    }
    params.push(query.limit);
    const r = await this.db.query(
      `SELECT ${COLUMNS} FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq${query.newestFirst === true ? ' DESC' : ''} LIMIT $${params.length}`,
      params,
    );
    return r.rows.map(toAuditRow);
  }
}
