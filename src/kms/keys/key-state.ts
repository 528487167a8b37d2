/**
 * Key state × operation, as one table (KMS Developer Guide key-state.md).
 * A cell is either allowed or names the error AWS returns. Tested as a matrix.
 */
import { kmsError, type KmsErrorName } from '../../errors/aws-errors.js';
import type { KeyRecord, KeyState } from '../../storage/repository.js';
import { effectiveKeyState } from '../../keystores/custom-key-view.js';

type Outcome = 'ok' | { code: KmsErrorName; text: string };

const disabled: Outcome = { code: 'DisabledException', text: 'is disabled.' };
const pendingDeletion: Outcome = { code: 'KMSInvalidStateException', text: 'is pending deletion.' };
const notPendingDeletion: Outcome = {
  code: 'KMSInvalidStateException',
  text: 'is not pending deletion.',
};
const pendingImport: Outcome = { code: 'KMSInvalidStateException', text: 'is pending import.' };
const unavailable: Outcome = { code: 'KMSInvalidStateException', text: 'is unavailable.' };
const creating: Outcome = { code: 'KMSInvalidStateException', text: 'is creating.' };
const updating: Outcome = { code: 'KMSInvalidStateException', text: 'is updating.' };

type Row = Record<KeyState, Outcome>;

const ALWAYS: Row = {
  Enabled: 'ok',
  Disabled: 'ok',
  PendingDeletion: 'ok',
  PendingReplicaDeletion: 'ok',
  PendingImport: 'ok',
  Unavailable: 'ok',
  Creating: 'ok',
  Updating: 'ok',
};

/** Cryptographic use of a key: Encrypt, Decrypt, GenerateDataKey*, ReEncrypt, Sign, ... */
const CRYPTO: Row = {
  Enabled: 'ok',
  Disabled: disabled,
  PendingDeletion: pendingDeletion,
  PendingReplicaDeletion: pendingDeletion,
  PendingImport: pendingImport,
  Unavailable: unavailable,
  Creating: creating,
  Updating: 'ok',
};

/** Changes to a key's attributes that are refused only while it waits for deletion. */
const NOT_PENDING_DELETION: Row = {
  ...ALWAYS,
  PendingDeletion: pendingDeletion,
  PendingReplicaDeletion: pendingDeletion,
};

const ENABLE_DISABLE: Row = {
  ...NOT_PENDING_DELETION,
  PendingImport: pendingImport,
  Creating: creating,
  Updating: updating,
};

/** Part B footnote [6]: a PendingImport key has EXTERNAL origin, which rotation refuses. */
const externalOrigin: Outcome = {
  code: 'UnsupportedOperationException',
  text: 'origin is EXTERNAL which is not valid for this operation.',
};
/** Part B footnote [7]: only custom-key-store keys are Unavailable, and they cannot rotate. */
const customKeyStore: Outcome = {
  code: 'UnsupportedOperationException',
  text: 'is in a custom key store, which does not support key rotation.',
};

/** Enable/DisableKeyRotation (Part B; [7] for imported material is checked by kms/material/rotate-material.ts). */
const ROTATION: Row = {
  Enabled: 'ok',
  Disabled: disabled,
  PendingDeletion: pendingDeletion,
  PendingReplicaDeletion: pendingDeletion,
  PendingImport: externalOrigin,
  Unavailable: customKeyStore,
  Creating: creating,
  Updating: 'ok',
};

/**
 * BYOK import (Part B). Footnote [9] (the key has no imported material: not EXTERNAL, or an
 * Unavailable custom-key-store key) is checked first by kms/material/import-material.ts; here the Unavailable
 * cell keeps [9] for completeness, PendingDeletion is [8] (pending deletion).
 */
const noImportedMaterial: Outcome = {
  code: 'UnsupportedOperationException',
  text: 'does not support imported key material.',
};
const IMPORT: Row = {
  Enabled: 'ok',
  Disabled: 'ok',
  PendingDeletion: pendingDeletion,
  PendingReplicaDeletion: pendingDeletion,
  PendingImport: 'ok',
  Unavailable: noImportedMaterial,
  Creating: creating,
  Updating: updating,
};

export const KEY_STATE_RULES: Readonly<Record<string, Row>> = {
  GetParametersForImport: IMPORT,
  ImportKeyMaterial: { ...IMPORT, Updating: 'ok' },
  // PendingImport: OK with no effect; PendingDeletion: material deleted, state unchanged.
  DeleteImportedKeyMaterial: {
    ...IMPORT,
    PendingDeletion: 'ok',
    PendingReplicaDeletion: 'ok',
  },
  CancelKeyDeletion: {
    Enabled: notPendingDeletion,
    Disabled: notPendingDeletion,
    PendingDeletion: 'ok',
    PendingReplicaDeletion: 'ok',
    PendingImport: notPendingDeletion,
    Unavailable: notPendingDeletion,
    Creating: notPendingDeletion,
    Updating: notPendingDeletion,
  },
  CreateAlias: NOT_PENDING_DELETION,
  UpdateAlias: NOT_PENDING_DELETION,
  DeleteAlias: ALWAYS,
  DescribeKey: ALWAYS,
  GetKeyLastUsage: ALWAYS,
  // CreateGrant fails like a cryptographic operation except on an Unavailable key (Part B).
  CreateGrant: { ...CRYPTO, Unavailable: 'ok' },
  ListGrants: ALWAYS,
  RetireGrant: ALWAYS,
  RevokeGrant: ALWAYS,
  // Account-level (no key is resolved); listed so the table covers every operation.
  ListRetirableGrants: ALWAYS,
  GetKeyPolicy: ALWAYS,
  PutKeyPolicy: ALWAYS,
  ListKeyPolicies: ALWAYS,
  ListAliases: ALWAYS,
  ListResourceTags: ALWAYS,
  DisableKey: ENABLE_DISABLE,
  EnableKey: ENABLE_DISABLE,
  Encrypt: CRYPTO,
  Decrypt: CRYPTO,
  ReEncrypt: CRYPTO,
  GenerateDataKey: CRYPTO,
  GenerateDataKeyWithoutPlaintext: CRYPTO,
  // Asymmetric and HMAC operations (Part B). Their N/A cells (PendingImport, Unavailable)
  // cannot occur for these keys; they keep the cryptographic outcome.
  GenerateDataKeyPair: CRYPTO,
  GenerateDataKeyPairWithoutPlaintext: CRYPTO,
  Sign: CRYPTO,
  Verify: CRYPTO,
  GetPublicKey: CRYPTO,
  GenerateMac: CRYPTO,
  VerifyMac: CRYPTO,
  // Not in Part B (newer than the table): a cryptographic use of the private key.
  DeriveSharedSecret: CRYPTO,
  ScheduleKeyDeletion: {
    ...ALWAYS,
    PendingDeletion: pendingDeletion,
    PendingReplicaDeletion: pendingDeletion,
    Updating: updating,
  },
  TagResource: NOT_PENDING_DELETION,
  UntagResource: NOT_PENDING_DELETION,
  UpdateKeyDescription: NOT_PENDING_DELETION,
  EnableKeyRotation: ROTATION,
  DisableKeyRotation: ROTATION,
  GetKeyRotationStatus: { ...ALWAYS, PendingImport: externalOrigin, Unavailable: customKeyStore },
  // Not in Part B: RotateKeyOnDemand makes new key material, so it follows EnableKeyRotation;
  // ListKeyRotations only reads history, so it follows GetKeyRotationStatus but for
  // PendingImport (AWS lists imported key material of EXTERNAL keys).
  // A PendingImport key (EXTERNAL, symmetric) rotates on demand once its material is back
  // (AWS answers "… is pending import.").
  RotateKeyOnDemand: { ...ROTATION, PendingImport: pendingImport },
  ListKeyRotations: { ...ALWAYS, Unavailable: customKeyStore },
  // Multi-Region keys (Part B; [14] creating, [15] updating). Unavailable is N/A (no custom
  // key store key is multi-Region).
  ReplicateKey: { ...CRYPTO, Updating: updating },
  UpdatePrimaryRegion: CRYPTO,
};

/** Throw the AWS error if `operation` may not run on `key` in its current state. */
export function checkKeyState(operation: string, key: KeyRecord): void {
  const row = KEY_STATE_RULES[operation];
  if (row === undefined) throw new Error(`no key-state rule for ${operation}`);
  // A key of a disconnected custom key store is Unavailable (keystores/custom-key-view.ts).
  const outcome = row[effectiveKeyState(key)];
  if (outcome === 'ok') return;
  throw kmsError(outcome.code, `${key.arn} ${outcome.text}`);
}
