/**
 * Worker thread that owns audit appends: the insert and its fsync run here, on the
 * second core, instead of blocking the event loop that serves requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditHead, AuditRow } from '../repository.js';
import { openAuditDb } from './audit-db.js';
import { SqliteAuditRepository } from './sqlite-audit.js';

export interface AppendMessage {
  id: number;
  rows: AuditRow[];
  head: AuditHead;
}

export type AppendReply = { id: number; ok: true } | { id: number; ok: false; error: string };

const port = parentPort;
if (port === null) throw new Error('audit-writer-worker must run as a worker thread');
const db = openAuditDb((workerData as { path: string }).path);
const repo = new SqliteAuditRepository(db);

port.on('message', (msg: AppendMessage | 'close') => {
  if (msg === 'close') {
    db.close();
    port.close();
    return;
  }
  // Structured clone turned Buffers into Uint8Arrays; give them back their Buffer face.
  const rows = msg.rows.map((r) => ({ ...r, chainHash: Buffer.from(r.chainHash) }));
  const head = {
    seq: msg.head.seq,
    chainHash: Buffer.from(msg.head.chainHash),
    mac: Buffer.from(msg.head.mac),
  };
  repo.appendAudit(rows, head).then(
    () => port.postMessage({ id: msg.id, ok: true } satisfies AppendReply),
    (err: unknown) =>
      port.postMessage({ id: msg.id, ok: false, error: String(err) } satisfies AppendReply),
  );
});
