/** KeyMetadata exactly as DescribeKey / CreateKey return it (model shape KeyMetadata). */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import type { KeyRecord } from '../storage/repository.js';
import { keySpecInfo } from './key-specs.js';

export function toKeyMetadata(key: KeyRecord): KeyMetadata {
  const spec = keySpecInfo(key.keySpec);
  const md: KeyMetadata = {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate,
    Enabled: key.keyState === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage as KeyMetadata['KeyUsage'],
    KeyState: key.keyState,
    Origin: key.origin as KeyMetadata['Origin'],
    KeyManager: key.keyManager,
    CustomerMasterKeySpec: key.keySpec as KeyMetadata['CustomerMasterKeySpec'],
    KeySpec: key.keySpec as KeyMetadata['KeySpec'],
    MultiRegion: key.multiRegion,
  };
  if (key.deletionDate !== undefined) md.DeletionDate = key.deletionDate;
  if (key.keyState === 'PendingDeletion' && key.pendingDeletionWindowInDays !== undefined) {
    md.PendingDeletionWindowInDays = key.pendingDeletionWindowInDays;
  }
  if (spec?.encryptionAlgorithms !== undefined && key.keyUsage === 'ENCRYPT_DECRYPT') {
    md.EncryptionAlgorithms = [...spec.encryptionAlgorithms] as KeyMetadata['EncryptionAlgorithms'];
  }
  if (key.currentVersionId !== undefined) md.CurrentKeyMaterialId = key.currentVersionId;
  return md;
}
