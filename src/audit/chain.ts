/**
 * The audit hash chain.
 *
 * Each event's chain hash is an HMAC-SHA256, under the audit key, over the previous
 * event's chain hash, its sequence number and its exact JSON body. The chain is
 * keyed (not a plain hash) because storage is untrusted: whoever can write the
 * database but does not hold the key hierarchy cannot recompute a chain after
 * changing, removing, reordering or inserting events. The head row (last seq and
 * hash) carries its own MAC so that cutting events off the end is detected too.
 *
 * Limit: restoring an older, genuine head together with a truncated table is not
 * detectable from the database alone; that needs a digest kept elsewhere.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';

/** The chain hash that precedes seq 1. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/** First sequence number of a chain. */
export const FIRST_SEQ = 1;

// Distinct prefixes so that a chain hash can never be replayed as a head MAC.
const CHAIN_DOMAIN = Buffer.from('keyhold/audit/chain/v1\0', 'utf8');
const HEAD_DOMAIN = Buffer.from('keyhold/audit/head/v1\0', 'utf8');

function seqBytes(seq: number): Buffer {
  /* Precondition: seq is a non-negative safe integer. */
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`invalid audit seq ${seq}`);
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
}

/** HMAC-SHA256(key, domain ‖ prevHash ‖ u64be(seq) ‖ utf8(body)). */
export function chainHash(key: Buffer, prevHash: Buffer, seq: number, body: string): Buffer {
  return createHmac('sha256', key)
    .update(CHAIN_DOMAIN)
    .update(prevHash)
    .update(seqBytes(seq))
    .update(body, 'utf8')
    .digest();
}

/** HMAC-SHA256(key, domain ‖ u64be(seq) ‖ hash): authenticates the audit_head row. */
export function headMac(key: Buffer, seq: number, hash: Buffer): Buffer {
  return createHmac('sha256', key).update(HEAD_DOMAIN).update(seqBytes(seq)).update(hash).digest();
}

/** Constant-time equality for hashes and MACs (false on length mismatch). */
export function macEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
