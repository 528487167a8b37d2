/**
 * The audit anchor: a chain's length and head hash, MACed under the audit key and kept in
 * the main database (`kms_meta` of keyhold.db, or of the PostgreSQL store), apart from the
 * chain itself. The chain alone cannot tell an emptied or recreated log from a new one; the
 * anchor can. It is moved forward about once a second and at shutdown (never on the
 * request path), always to a position the chain has already committed, so a log may be
 * *ahead* of its anchor (a crash, a kill -9) but never legitimately *behind* it.
 *
 * A check fails when the log is behind the anchor, when it no longer holds the anchored
 * event with the anchored hash (replaced by another chain), when it is empty while the
 * main database has history but no anchor, or when the anchor's MAC is wrong.
 */
import { createHmac } from 'node:crypto';
import type { AuditHead, AuditRepository } from '../storage/repository.js';
import { GENESIS_HASH, macEqual } from './chain.js';

export interface AuditAnchor {
  seq: number;
  chainHash: Buffer;
  mac: Buffer;
}

/** Where anchors live: the main database, never the audit log's own store. */
export interface AuditAnchorStore {
  getAnchor(chainId: string): Promise<AuditAnchor | undefined>;
  putAnchor(chainId: string, anchor: AuditAnchor): Promise<void>;
  /** Every chain that has an anchor (verify checks them even when their events are gone). */
  listAnchoredChains(): Promise<string[]>;
  /**
   * True when the main database has been started on before (it holds a domain key), so an
   * empty, unanchored audit log there means a deleted one. PostgreSQL answers false: a new
   * node legitimately starts a new chain in a store with history.
   */
  hasHistory(): Promise<boolean>;
}

/** The kms_meta row name of a chain's anchor. */
export const ANCHOR_META_PREFIX = 'audit_anchor:';

const ANCHOR_DOMAIN = Buffer.from('keyhold/audit/anchor/v1\0', 'utf8');

/** HMAC-SHA256(key, domain ‖ chainId ‖ 0 ‖ u64be(seq) ‖ hash). */
export function anchorMac(key: Buffer, chainId: string, seq: number, hash: Buffer): Buffer {
  /* Precondition: seq is a non-negative safe integer. */
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`invalid audit seq ${seq}`);
  const s = Buffer.allocUnsafe(8);
  s.writeBigUInt64BE(BigInt(seq));
  return createHmac('sha256', key)
    .update(ANCHOR_DOMAIN)
    .update(chainId, 'utf8')
    .update(Buffer.of(0))
    .update(s)
    .update(hash)
    .digest();
}

export function makeAnchor(key: Buffer, chainId: string, seq: number, hash: Buffer): AuditAnchor {
  return { seq, chainHash: hash, mac: anchorMac(key, chainId, seq, hash) };
}

/** The anchor of a chain that has recorded nothing yet (a first start). */
export function genesisAnchor(key: Buffer, chainId: string): AuditAnchor {
  return makeAnchor(key, chainId, 0, GENESIS_HASH);
}

/** `v1:<seq>:<hash hex>:<mac hex>`, the kms_meta value. */
export function encodeAnchor(a: AuditAnchor): string {
  return `v1:${a.seq}:${a.chainHash.toString('hex')}:${a.mac.toString('hex')}`;
}

/** Parses encodeAnchor's form; a malformed value gives an anchor whose MAC cannot verify. */
export function decodeAnchor(value: string): AuditAnchor {
  const m = /^v1:(\d{1,16}):([0-9a-f]{64}):([0-9a-f]{64})$/.exec(value);
  if (m === null) return { seq: 0, chainHash: GENESIS_HASH, mac: Buffer.alloc(0) };
  return {
    seq: Number(m[1]),
    chainHash: Buffer.from(m[2] as string, 'hex'),
    mac: Buffer.from(m[3] as string, 'hex'),
  };
}

/** `seq 42, chain hash 3fa2…` for messages (the full hash: operators copy it elsewhere). */
export function describePosition(seq: number, hash: Buffer): string {
  return `seq ${seq}, chain hash ${hash.toString('hex')}`;
}

/**
 * Compare a chain (its authenticated head, or undefined when empty) with its anchor.
 * Returns what is wrong, or undefined when the chain is at or ahead of the anchor.
 */
export async function anchorProblem(
  repo: AuditRepository,
  key: Buffer,
  chainId: string,
  anchor: AuditAnchor | undefined,
  head: AuditHead | undefined,
  hasHistory: boolean,
): Promise<string | undefined> {
  if (anchor === undefined) {
    return head === undefined && hasHistory
      ? 'the audit log is empty, but the main database has history and no audit anchor: the log was deleted'
      : undefined;
  }
  if (!macEqual(anchor.mac, anchorMac(key, chainId, anchor.seq, anchor.chainHash))) {
    return 'the audit anchor in the main database is invalid: it was tampered with';
  }
  if (anchor.seq === 0) return undefined;
  const anchored = describePosition(anchor.seq, anchor.chainHash);
  if (head === undefined) {
    return `the audit log is missing or empty, but its anchor records ${anchored}: events were deleted`;
  }
  if (head.seq < anchor.seq) {
    return `the audit log ends at seq ${head.seq}, behind its anchor (${anchored}): events were removed or an older copy was restored`;
  }
  const row = (await repo.readAudit(anchor.seq - 1, 1))[0];
  if (row === undefined || row.seq !== anchor.seq || !macEqual(row.chainHash, anchor.chainHash)) {
    return `the audit log does not hold the anchored event (${anchored}): it was replaced`;
  }
  return undefined;
}
