/**
 * The operation table: X-Amz-Target → operation. Every model operation not listed here is
 * answered with UnsupportedOperationException naming it (never a silent success).
 */
import type { Operation } from './operation.js';
import cancelKeyDeletion from './operations/cancel-key-deletion.js';
import createAlias from './operations/create-alias.js';
import createGrant from './operations/create-grant.js';
import createKey from './operations/create-key.js';
import decrypt from './operations/decrypt.js';
import deleteAlias from './operations/delete-alias.js';
import deleteImportedKeyMaterial from './operations/delete-imported-key-material.js';
import describeKey from './operations/describe-key.js';
import getParametersForImport from './operations/get-parameters-for-import.js';
import importKeyMaterial from './operations/import-key-material.js';
import disableKey from './operations/disable-key.js';
import disableKeyRotation from './operations/disable-key-rotation.js';
import enableKey from './operations/enable-key.js';
import enableKeyRotation from './operations/enable-key-rotation.js';
import encrypt from './operations/encrypt.js';
import generateDataKey from './operations/generate-data-key.js';
import generateDataKeyWithoutPlaintext from './operations/generate-data-key-without-plaintext.js';
import generateRandom from './operations/generate-random.js';
import deriveSharedSecret from './operations/derive-shared-secret.js';
import generateDataKeyPair from './operations/generate-data-key-pair.js';
import generateDataKeyPairWithoutPlaintext from './operations/generate-data-key-pair-without-plaintext.js';
import generateMac from './operations/generate-mac.js';
import getPublicKey from './operations/get-public-key.js';
import sign from './operations/sign.js';
import verify from './operations/verify.js';
import verifyMac from './operations/verify-mac.js';
import getKeyLastUsage from './operations/get-key-last-usage.js';
import getKeyPolicy from './operations/get-key-policy.js';
import getKeyRotationStatus from './operations/get-key-rotation-status.js';
import listKeyRotations from './operations/list-key-rotations.js';
import rotateKeyOnDemand from './operations/rotate-key-on-demand.js';
import listKeyPolicies from './operations/list-key-policies.js';
import putKeyPolicy from './operations/put-key-policy.js';
import listAliases from './operations/list-aliases.js';
import listGrants from './operations/list-grants.js';
import listRetirableGrants from './operations/list-retirable-grants.js';
import retireGrant from './operations/retire-grant.js';
import revokeGrant from './operations/revoke-grant.js';
import listKeys from './operations/list-keys.js';
import listResourceTags from './operations/list-resource-tags.js';
import reEncrypt from './operations/re-encrypt.js';
import replicateKey from './operations/replicate-key.js';
import updatePrimaryRegion from './operations/update-primary-region.js';
import scheduleKeyDeletion from './operations/schedule-key-deletion.js';
import tagResource from './operations/tag-resource.js';
import untagResource from './operations/untag-resource.js';
import updateAlias from './operations/update-alias.js';
import updateKeyDescription from './operations/update-key-description.js';
import connectCustomKeyStore from './operations/connect-custom-key-store.js';
import createCustomKeyStore from './operations/create-custom-key-store.js';
import deleteCustomKeyStore from './operations/delete-custom-key-store.js';
import describeCustomKeyStores from './operations/describe-custom-key-stores.js';
import disconnectCustomKeyStore from './operations/disconnect-custom-key-store.js';
import updateCustomKeyStore from './operations/update-custom-key-store.js';

type AnyOperation = Operation<never, unknown>;

const ALL: AnyOperation[] = [
  cancelKeyDeletion,
  createAlias,
  createGrant,
  createKey,
  decrypt,
  deleteAlias,
  deleteImportedKeyMaterial,
  describeKey,
  getParametersForImport,
  importKeyMaterial,
  disableKey,
  disableKeyRotation,
  enableKey,
  enableKeyRotation,
  encrypt,
  generateDataKey,
  generateDataKeyWithoutPlaintext,
  generateRandom,
  deriveSharedSecret,
  generateDataKeyPair,
  generateDataKeyPairWithoutPlaintext,
  generateMac,
  getPublicKey,
  sign,
  verify,
  verifyMac,
  getKeyLastUsage,
  getKeyPolicy,
  getKeyRotationStatus,
  listKeyRotations,
  rotateKeyOnDemand,
  listKeyPolicies,
  putKeyPolicy,
  listAliases,
  listGrants,
  listRetirableGrants,
  retireGrant,
  revokeGrant,
  listKeys,
  listResourceTags,
  reEncrypt,
  replicateKey,
  scheduleKeyDeletion,
  tagResource,
  untagResource,
  updateAlias,
  updateKeyDescription,
  updatePrimaryRegion,
  connectCustomKeyStore,
  createCustomKeyStore,
  deleteCustomKeyStore,
  describeCustomKeyStores,
  disconnectCustomKeyStore,
  updateCustomKeyStore,
] as AnyOperation[];

export const OPERATIONS: ReadonlyMap<string, Operation<Record<string, unknown>, unknown>> = new Map(
  ALL.map((op) => [op.name, op as unknown as Operation<Record<string, unknown>, unknown>]),
);
