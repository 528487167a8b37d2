/**
 * SQLite implementation of the AuditRepository: the audit_events table plus the
 * one-row audit_head. Rows are append-only; a batch and the head move together in
 * one transaction, which is one fsync with synchronous=FULL (group commit).
 */

import type BetterSqlite3 from 'better-sqlite3';
import type { AuditHead, AuditQuery, AuditRepository, AuditRow } from '../repository.js';

/** Part of migration 1. */
export const AUDIT_SCHEMA_SQL: string = `
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  event_time TEXT NOT NULL,
  event_name TEXT NOT NULL,
  principal_arn TEXT,
  key_arns TEXT NOT NULL,
  body TEXT NOT NULL,
  chain_hash BLOB NOT NULL
);
CREATE INDEX audit_events_event_time ON audit_events (event_time);
CREATE INDEX audit_events_principal_arn ON audit_events (principal_arn);
CREATE INDEX audit_events_event_name ON audit_events (event_name);
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  chain_hash BLOB NOT NULL,
  mac BLOB NOT NULL
);
`;

interface EventRow {
  seq: number;
  event_id: string;
  event_time: string;
  event_name: string;
  principal_arn: string | null;
  key_arns: string;
  body: string;
  chain_hash: Buffer;
}

interface HeadRow {
  seq: number;
  chain_hash: Buffer;
  mac: Buffer;
}

const COLUMNS = 'seq, event_id, event_time, event_name, principal_arn, key_arns, body, chain_hash';

function toAuditRow(r: EventRow): AuditRow {
  return {
    seq: r.seq,
    eventId: r.event_id,
    eventTime: r.event_time,
    eventName: r.event_name,
    principalArn: r.principal_arn,
    keyArns: r.key_arns,
    body: r.body,
    chainHash: r.chain_hash,
  };
}

/** Query filters as SQL, in a fixed order so that each combination has one cached statement. */
const FILTERS: ReadonlyArray<{ key: keyof AuditQuery; sql: string }> = [
  { key: 'afterSeq', sql: 'seq > ?' },
  { key: 'beforeSeq', sql: 'seq < ?' },
  // Whole-word match inside the space-separated list (instr: no LIKE wildcards to escape).
  { key: 'keyArn', sql: "instr(' ' || key_arns || ' ', ' ' || ? || ' ') > 0" },
  { key: 'principalArn', sql: 'principal_arn = ?' },
  { key: 'eventName', sql: 'event_name = ?' },
  { key: 'from', sql: 'event_time >= ?' },
  { key: 'to', sql: 'event_time <= ?' },
];

export class SqliteAuditRepository implements AuditRepository {
  private readonly insertEvent: BetterSqlite3.Statement<unknown[]>;
  private readonly upsertHead: BetterSqlite3.Statement<unknown[]>;
  private readonly selectHead: BetterSqlite3.Statement<unknown[], HeadRow>;
  private readonly selectAfter: BetterSqlite3.Statement<unknown[], EventRow>;
  private readonly queries = new Map<string, BetterSqlite3.Statement<unknown[], EventRow>>();
  private readonly appendTx: (rows: AuditRow[], head: AuditHead) => void;

  constructor(private readonly db: BetterSqlite3.Database) {
    this.insertEvent = db.prepare(
      `INSERT INTO audit_events (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertHead = db.prepare(
      `INSERT INTO audit_head (id, seq, chain_hash, mac) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, chain_hash = excluded.chain_hash,
         mac = excluded.mac`,
    );
    this.selectHead = db.prepare<unknown[], HeadRow>(
      'SELECT seq, chain_hash, mac FROM audit_head WHERE id = 1',
    );
    this.selectAfter = db.prepare<unknown[], EventRow>(
      `SELECT ${COLUMNS} FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?`,
    );
    this.appendTx = db.transaction((rows: AuditRow[], head: AuditHead) => {
      for (const r of rows) {
        this.insertEvent.run(
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
      this.upsertHead.run(head.seq, head.chainHash, head.mac);
    });
  }

  async appendAudit(rows: AuditRow[], head: AuditHead): Promise<void> {
    this.appendTx(rows, head);
  }

  async getAuditHead(): Promise<AuditHead | undefined> {
    const r = this.selectHead.get();
    return r === undefined ? undefined : { seq: r.seq, chainHash: r.chain_hash, mac: r.mac };
  }

  async readAudit(afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.selectAfter.all(afterSeq, limit).map(toAuditRow);
  }

  /** Matching rows in seq order (or newest first), after `afterSeq` / before `beforeSeq`. */
  async queryAudit(query: AuditQuery): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const f of FILTERS) {
      const v = query[f.key];
      if (v === undefined) continue;
      where.push(f.sql);
      params.push(v);
    }
    const sql =
      `SELECT ${COLUMNS} FROM audit_events` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      (query.newestFirst === true ? ' ORDER BY seq DESC LIMIT ?' : ' ORDER BY seq LIMIT ?');
    let stmt = this.queries.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare<unknown[], EventRow>(sql);
      this.queries.set(sql, stmt);
    }
    return stmt.all(...params, query.limit).map(toAuditRow);
  }
}
