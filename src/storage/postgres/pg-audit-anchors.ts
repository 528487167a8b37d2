/**
 * Audit anchors in the PostgreSQL store's `kms_meta` (see audit/anchor.ts), one row per
 * node chain. They share the database with the chains, so they catch a chain whose events
 * or head were deleted or rolled back, not a writer who also deletes the anchor row.
 */
import {
  ANCHOR_META_PREFIX,
  decodeAnchor,
  encodeAnchor,
  type AuditAnchor,
  type AuditAnchorStore,
} from '../../audit/anchor.js';
import type { PgDb } from './pg-db.js';
import type { Row } from './pg-rows.js';

export class PgAuditAnchors implements AuditAnchorStore {
  constructor(private readonly db: PgDb) {}

  async getAnchor(chainId: string): Promise<AuditAnchor | undefined> {
    const r = await this.db.query('SELECT value FROM kms_meta WHERE name = $1', [
      ANCHOR_META_PREFIX + chainId,
    ]);
    const v = r.rows[0]?.value;
    return v === undefined ? undefined : decodeAnchor(String(v));
  }

  async putAnchor(chainId: string, anchor: AuditAnchor): Promise<void> {
    await this.db.query(
      `INSERT INTO kms_meta (name, value) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      [ANCHOR_META_PREFIX + chainId, encodeAnchor(anchor)],
    );
  }

  async listAnchoredChains(): Promise<string[]> {
    const r = await this.db.query(
      'SELECT name FROM kms_meta WHERE left(name, length($1)) = $1 ORDER BY name',
      [ANCHOR_META_PREFIX],
    );
    return r.rows.map((x: Row) => String(x.name).slice(ANCHOR_META_PREFIX.length));
  }

  /** Every node may start a new chain in a store with history (see AuditAnchorStore). */
  async hasHistory(): Promise<boolean> {
    return false;
  }
}
