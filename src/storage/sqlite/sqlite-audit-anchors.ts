/**
 * Audit anchors in keyhold.db's `kms_meta` (see audit/anchor.ts): one row per chain, written
 * about once a second by the node, read by `keyhold audit verify`. keyhold.db and audit.db
 * are separate files, so deleting or replacing audit.db leaves the anchor behind.
 */
import type BetterSqlite3 from 'better-sqlite3';
import {
  ANCHOR_META_PREFIX,
  decodeAnchor,
  encodeAnchor,
  type AuditAnchor,
  type AuditAnchorStore,
} from '../../audit/anchor.js';

function hasTable(db: BetterSqlite3.Database, name: string): boolean {
  return (
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !==
    undefined
  );
}

export class SqliteAuditAnchors implements AuditAnchorStore {
  /** Opened read-only by the CLI on a keyhold.db that may predate kms_meta. */
  private readonly hasMeta: boolean;

  constructor(private readonly db: BetterSqlite3.Database) {
    this.hasMeta = hasTable(db, 'kms_meta');
  }

  async getAnchor(chainId: string): Promise<AuditAnchor | undefined> {
    if (!this.hasMeta) return undefined;
    const r = this.db
      .prepare<[string], { value: string }>('SELECT value FROM kms_meta WHERE name = ?')
      .get(ANCHOR_META_PREFIX + chainId);
    return r === undefined ? undefined : decodeAnchor(r.value);
  }

  async putAnchor(chainId: string, anchor: AuditAnchor): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO kms_meta (name, value) VALUES (?, ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      )
      .run(ANCHOR_META_PREFIX + chainId, encodeAnchor(anchor));
  }

  async listAnchoredChains(): Promise<string[]> {
    if (!this.hasMeta) return [];
    return this.db
      .prepare<[string], { name: string }>(
        'SELECT name FROM kms_meta WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name',
      )
      .all(ANCHOR_META_PREFIX)
      .map((r) => r.name.slice(ANCHOR_META_PREFIX.length));
  }

  async hasHistory(): Promise<boolean> {
    if (!hasTable(this.db, 'domain_keys')) return false;
    return this.db.prepare('SELECT 1 FROM domain_keys LIMIT 1').get() !== undefined;
  }
}
