/**
 * Multi-Region keys (API model docs for CreateKey MultiRegion, ReplicateKey,
 * UpdatePrimaryRegion, ScheduleKeyDeletion; KMS Developer Guide multi-region-keys-overview.md).
 *
 * A set of related multi-Region keys shares one `mrk-` key id, key spec, key usage, origin
 * and key material (every backing-key version, with the same version ids, so a ciphertext
 * blob made in one Region names a version the replica in another Region also holds). Each
 * member is an ordinary key in its Region with its own ARN, policy, description, tags,
 * aliases, grants and key state. EKTs are bound to the key ARN, so a replica's versions are
 * the primary's material re-sealed by the HSM for the replica's ARN (Hsm.rebind).
 *
 * The membership (which Regions, which one is the primary) is in storage.multiRegion.
 */
import { randomBytes } from 'node:crypto';
import type { KeyMetadata, MultiRegionConfiguration } from '@aws-sdk/client-kms';
import type { Hsm } from '../../hsm/hsm.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { MultiRegionMember } from '../../storage/multi-region-repository.js';
import type { KeyRecord, KeyVersionRecord, Storage } from '../../storage/repository.js';
import { keyArn } from './arn.js';
import { toKeyMetadata } from './key-metadata.js';

/** A multi-Region key id: `mrk-` and 32 lower-case hex digits. */
export function newMultiRegionKeyId(): string {
  return `mrk-${randomBytes(16).toString('hex')}`;
}

/**
 * The members of a key's set. A multi-Region key with no membership rows (a crash between
 * CreateKey's two writes) is a primary without replicas.
 */
export async function multiRegionMembers(
  storage: Pick<Storage, 'multiRegion'>,
  key: KeyRecord,
): Promise<MultiRegionMember[]> {
  const members = await storage.multiRegion.listMembers(key.accountId, key.keyId);
  if (members.some((m) => m.region === key.region)) return members;
  if (members.length === 0)
    return [{ accountId: key.accountId, keyId: key.keyId, region: key.region, role: 'PRIMARY' }];
  // A replica whose link was not written yet (ReplicateKey in progress): show it as such.
  return [
    ...members,
    { accountId: key.accountId, keyId: key.keyId, region: key.region, role: 'REPLICA' },
  ];
}

export function primaryOf(members: MultiRegionMember[]): MultiRegionMember | undefined {
  return members.find((m) => m.role === 'PRIMARY');
}

/** KeyMetadata.MultiRegionConfiguration of a multi-Region key (undefined for others). */
export async function multiRegionConfiguration(
  storage: Pick<Storage, 'multiRegion'>,
  key: KeyRecord,
): Promise<MultiRegionConfiguration | undefined> {
  if (!key.multiRegion) return undefined;
  const members = await multiRegionMembers(storage, key);
  const ref = (m: MultiRegionMember) => ({
    Arn: keyArn(m.region, m.accountId, m.keyId),
    Region: m.region,
  });
  const self = members.find((m) => m.region === key.region);
  const primary = primaryOf(members);
  const config: MultiRegionConfiguration = {
    MultiRegionKeyType: self?.role ?? 'PRIMARY',
    ReplicaKeys: members.filter((m) => m.role === 'REPLICA').map(ref),
  };
  if (primary !== undefined) config.PrimaryKey = ref(primary);
  return config;
}

/** KeyMetadata with MultiRegionConfiguration for multi-Region keys (DescribeKey, CreateKey, ...). */
export async function describeKeyMetadata(
  storage: Pick<Storage, 'multiRegion'>,
  key: KeyRecord,
): Promise<KeyMetadata> {
  const md = toKeyMetadata(key);
  const config = await multiRegionConfiguration(storage, key);
  if (config !== undefined) md.MultiRegionConfiguration = config;
  // AWS shows the waiting period of a primary waiting for its replicas too.
  if (key.keyState === 'PendingReplicaDeletion' && key.pendingDeletionWindowInDays !== undefined)
    md.PendingDeletionWindowInDays = key.pendingDeletionWindowInDays;
  return md;
}

/** The primary of a set, refusing keys that are not multi-Region primaries. */
export async function requirePrimary(
  storage: Pick<Storage, 'multiRegion'>,
  key: KeyRecord,
): Promise<MultiRegionMember[]> {
  if (!key.multiRegion) {
    throw kmsError('UnsupportedOperationException', `${key.arn} is not a multi-region key.`);
  }
  const members = await multiRegionMembers(storage, key);
  if (primaryOf(members)?.region !== key.region) {
    throw kmsError(
      'UnsupportedOperationException',
      `${key.arn} is not a multi-region primary key.`,
    );
  }
  return members;
}

/** Re-seal one backing-key version of `from` for the key `to` (same key id, other Region). */
export function rebindVersion(
  hsm: Pick<Hsm, 'rebind'>,
  from: KeyRecord,
  version: KeyVersionRecord,
  to: KeyRecord,
  createdAt: Date,
): KeyVersionRecord {
  const wrapped = hsm.rebind(
    {
      keyArn: from.arn,
      versionId: version.versionId,
      domainKeyId: version.domainKeyId,
      ekt: version.ekt,
    },
    { keyArn: to.arn, versionId: version.versionId },
  );
  const out: KeyVersionRecord = {
    region: to.region,
    keyId: to.keyId,
    versionId: version.versionId,
    ...wrapped,
    createdAt,
  };
  if (version.publicKey !== undefined) out.publicKey = version.publicKey;
  return out;
}

/**
 * A primary scheduled for deletion while it had replicas waits in PendingReplicaDeletion;
 * "When the last of its replicas keys is deleted (not just scheduled), the key state of the
 * primary key changes to PendingDeletion and its waiting period (PendingWindowInDays)
 * begins" (model doc, ScheduleKeyDeletion). Called after a multi-Region key was deleted.
 */
export async function afterMultiRegionKeyDeleted(
  storage: Pick<Storage, 'multiRegion' | 'getKey' | 'updateKey'>,
  deleted: KeyRecord,
  now: Date,
): Promise<void> {
  const members = await storage.multiRegion.listMembers(deleted.accountId, deleted.keyId);
  const primary = primaryOf(members);
  if (primary === undefined || members.some((m) => m.role === 'REPLICA')) return;
  const key = await storage.getKey(primary.region, primary.keyId);
  if (key?.keyState !== 'PendingReplicaDeletion') return;
  const days = key.pendingDeletionWindowInDays ?? 30;
  await storage.updateKey({
    ...key,
    keyState: 'PendingDeletion',
    deletionDate: new Date(now.getTime() + days * 24 * 60 * 60 * 1000),
  });
}
