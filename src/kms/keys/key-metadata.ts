/** KeyMetadata exactly as DescribeKey / CreateKey return it (model shape KeyMetadata). */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import type { KeyRecord } from '../../storage/repository.js';
import { algorithmsFor, USAGE_ALGORITHM_FIELD } from './key-specs.js';
import { customView, effectiveKeyState } from '../../keystores/custom-key-view.js';

type AlgorithmLists = Pick<
  KeyMetadata,
  'EncryptionAlgorithms' | 'SigningAlgorithms' | 'MacAlgorithms' | 'KeyAgreementAlgorithms'
>;

/** The algorithm list of the key's usage (KeyMetadata and GetPublicKey), from the spec table. */
export function algorithmLists(key: KeyRecord): AlgorithmLists {
  const field = USAGE_ALGORITHM_FIELD[key.keyUsage as keyof typeof USAGE_ALGORITHM_FIELD];
  const algorithms = algorithmsFor(key.keySpec, key.keyUsage);
  if (field === undefined || algorithms.length === 0) return {};
  return { [field]: [...algorithms] } as AlgorithmLists;
}

/**
 * AWS shows CurrentKeyMaterialId "for symmetric encryption keys with AWS_KMS or EXTERNAL
 * origin" (model doc): never for HMAC, RSA, ECC or key agreement keys, whatever their
 * origin, nor for keys in a custom key store.
 */
export function hasKeyMaterialId(key: KeyRecord): boolean {
  return (
    key.keySpec === 'SYMMETRIC_DEFAULT' && (key.origin === 'AWS_KMS' || key.origin === 'EXTERNAL')
  );
}

export function toKeyMetadata(key: KeyRecord): KeyMetadata {
  const state = effectiveKeyState(key);
  const md: KeyMetadata = {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate,
    Enabled: state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage as KeyMetadata['KeyUsage'],
    KeyState: state,
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
  Object.assign(md, algorithmLists(key));
  if (key.currentVersionId !== undefined && hasKeyMaterialId(key))
    md.CurrentKeyMaterialId = key.currentVersionId;
  const custom = customView(key);
  if (custom !== undefined) {
    md.CustomKeyStoreId = custom.customKeyStoreId;
    if (custom.cloudHsmClusterId !== undefined) md.CloudHsmClusterId = custom.cloudHsmClusterId;
    if (custom.xksKeyId !== undefined) md.XksKeyConfiguration = { Id: custom.xksKeyId };
  }
  return md;
}
