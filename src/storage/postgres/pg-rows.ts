/**
 * Row ↔ record mapping shared by the PostgreSQL repositories. BIGINT columns arrive as
 * strings (node-postgres keeps 64-bit integers exact); times are epoch milliseconds.
 * Optional fields are absent, not undefined, so records compare equal after a round trip
 * (the conformance suite uses deepEqual), exactly as the SQLite adapter returns them.
 */
import {
  ConcurrentUpdateError,
  type KeyRecord,
  type KeyState,
  type KeyVersionRecord,
} from '../repository.js';
import { decodeBindings, encodeBindings } from '../principal-bindings.js';
import type { Q } from './pg-db.js';

export type Row = Record<string, unknown>;

export const ms = (v: unknown): Date => new Date(Number(v));

export const KEY_COLUMNS = [
  'region',
  'key_id',
  'account_id',
  'arn',
  'description',
  'key_state',
  'key_spec',
  'key_usage',
  'origin',
  'key_manager',
  'multi_region',
  'policy',
  'creation_date',
  'deletion_date',
  'pending_window_days',
  'current_version_id',
  'revision',
  'policy_principals',
] as const;

export function keyParams(k: KeyRecord): unknown[] {
  return [
    k.region,
    k.keyId,
    k.accountId,
    k.arn,
    k.description,
    k.keyState,
    k.keySpec,
    k.keyUsage,
    k.origin,
    k.keyManager,
    k.multiRegion,
    k.policy,
    k.creationDate.getTime(),
    k.deletionDate?.getTime() ?? null,
    k.pendingDeletionWindowInDays ?? null,
    k.currentVersionId ?? null,
    k.revision,
    encodeBindings(k.policyPrincipals),
  ];
}

export function rowToKey(r: Row): KeyRecord {
  const key: KeyRecord = {
    region: String(r.region),
    keyId: String(r.key_id),
    accountId: String(r.account_id),
    arn: String(r.arn),
    description: String(r.description),
    keyState: String(r.key_state) as KeyState,
    keySpec: String(r.key_spec),
    keyUsage: String(r.key_usage),
    origin: String(r.origin),
    keyManager: r.key_manager === 'AWS' ? 'AWS' : 'CUSTOMER',
    multiRegion: r.multi_region === true,
    policy: String(r.policy),
    creationDate: ms(r.creation_date),
    revision: Number(r.revision),
  };
  if (r.deletion_date !== null) key.deletionDate = ms(r.deletion_date);
  if (r.pending_window_days !== null)
    key.pendingDeletionWindowInDays = Number(r.pending_window_days);
  if (r.current_version_id !== null) key.currentVersionId = String(r.current_version_id);
  const bound = decodeBindings(r.policy_principals);
  if (bound !== undefined) key.policyPrincipals = bound;
  return key;
}

export function rowToVersion(r: Row): KeyVersionRecord {
  return {
    region: String(r.region),
    keyId: String(r.key_id),
    versionId: String(r.version_id),
    domainKeyId: String(r.domain_key_id),
    ekt: r.ekt as Buffer,
    createdAt: ms(r.created_at),
    ...(r.public_key instanceof Buffer ? { publicKey: r.public_key } : {}),
  };
}

/** The invalidation channel every node LISTENs on (payloads: see pg-notify.ts). */
export const INVALIDATE_CHANNEL = 'keyhold_invalidate';

/** Queue an invalidation; inside a transaction it is delivered at commit, never before. */
export async function notify(q: Q, payload: string): Promise<void> {
  await q.query('SELECT pg_notify($1, $2)', [INVALIDATE_CHANNEL, payload]);
}

const VERSION_COLUMNS = 'region, key_id, version_id, domain_key_id, ekt, created_at, public_key';

function versionParams(v: KeyVersionRecord): unknown[] {
  return [
    v.region,
    v.keyId,
    v.versionId,
    v.domainKeyId,
    v.ekt,
    v.createdAt.getTime(),
    v.publicKey ?? null,
  ];
}

/** Add a version; a version id already present is an error. */
export async function insertVersion(q: Q, v: KeyVersionRecord) {
  await q.query(
    `INSERT INTO key_versions (${VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    versionParams(v),
  );
}

/** Add a version or replace its material (re-import of the same material). */
export async function upsertVersion(q: Q, v: KeyVersionRecord) {
  await q.query(
    `INSERT INTO key_versions (${VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (region, key_id, version_id) DO UPDATE SET domain_key_id = excluded.domain_key_id,
       ekt = excluded.ekt, public_key = excluded.public_key`,
    versionParams(v),
  );
}

/**
 * Point the key at `versionId` (undefined: no material) and optionally a new state, if its
 * revision is still the one read; throws ConcurrentUpdateError otherwise. Call it inside
 * the caller's transaction (the throw rolls the whole transaction back).
 */
export async function setCurrentVersion(
  q: Q,
  key: KeyRecord,
  versionId: string | undefined,
  keyState: KeyState = key.keyState,
): Promise<KeyRecord> {
  // The same shape as the SQLite adapter returns (currentVersionId present, maybe undefined).
  const next: KeyRecord = {
    ...key,
    keyState,
    currentVersionId: versionId,
    revision: key.revision + 1,
  };
  const r = await q.query(
    `UPDATE keys SET key_state = $1, current_version_id = $2, revision = $3
     WHERE region = $4 AND key_id = $5 AND revision = $6`,
    [keyState, versionId ?? null, next.revision, key.region, key.keyId, key.revision],
  );
  if ((r.rowCount ?? 0) !== 1) throw new ConcurrentUpdateError(key.arn);
  await notify(q, `k:${key.region}/${key.keyId}`);
  return next;
}
