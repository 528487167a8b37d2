/**
 * AuditRepository over audit.db whose appends run in a worker thread (audit-writer-worker)
 * and whose reads run here on a connection of their own. An append resolves once the
 * worker's transaction has committed (fsynced); if the worker fails, every pending append
 * rejects, and the requests behind them fail.
 */
import { Worker } from 'node:worker_threads';
import type { AuditHead, AuditQuery, AuditRepository, AuditRow } from '../repository.js';
import { openAuditDb } from './audit-db.js';
import type { AppendMessage, AppendReply } from './audit-writer-worker.js';
import { SqliteAuditRepository } from './sqlite-audit.js';

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class ThreadedAuditRepository implements AuditRepository {
  readonly #reader: SqliteAuditRepository;
  readonly #db: ReturnType<typeof openAuditDb>;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #failed: Error | undefined;

  constructor(path: string) {
    // Create and migrate the file here first, so the worker and the reader see one schema.
    this.#db = openAuditDb(path);
    this.#reader = new SqliteAuditRepository(this.#db);
    this.#worker = new Worker(new URL('./audit-writer-worker.js', import.meta.url), {
      workerData: { path },
    });
    this.#worker.on('message', (reply: AppendReply) => {
      const p = this.#pending.get(reply.id);
      if (p === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve();
      else p.reject(new Error(`audit append failed: ${reply.error}`));
    });
    const fail = (err: Error) => {
      this.#failed = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`audit writer exited (${code})`)));
  }

  /** False once the writer thread failed (readiness). */
  get healthy(): boolean {
    return this.#failed === undefined;
  }

  appendAudit(rows: AuditRow[], head: AuditHead): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, rows, head } satisfies AppendMessage);
    });
  }

  getAuditHead(): Promise<AuditHead | undefined> {
    return this.#reader.getAuditHead();
  }

  readAudit(afterSeq: number, limit: number): Promise<AuditRow[]> {
    return this.#reader.readAudit(afterSeq, limit);
  }

  queryAudit(query: AuditQuery): Promise<AuditRow[]> {
    return this.#reader.queryAudit(query);
  }

  /** Close after every pending append has been answered. */
  async close(): Promise<void> {
    if (this.#failed === undefined) {
      const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
      this.#worker.postMessage('close');
      await exited;
    }
    this.#db.close();
  }
}
