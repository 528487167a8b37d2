/**
 * What a KMS key in a custom key store looks like to the operations: its store, and
 * whether it is usable now. A key whose store is not CONNECTED (in this node) is
 * `Unavailable` (devguide key-state.md), unless it is PendingDeletion, which is kept so the
 * deletion can still be cancelled. The stored keyState is never changed: EnableKey and
 * DisableKey on an Unavailable key update it and take effect on reconnect, as in AWS.
 *
 * `annotateKey` returns a copy of the record carrying that view (records may be shared by
 * the key cache, so the original is never marked); checkKeyState and toKeyMetadata read it.
 */
import type { KeyRecord, KeyState } from '../storage/repository.js';
import type { CustomKeyStoreType } from './types.js';

export const CUSTOM_STORE_ORIGINS: Readonly<Record<string, CustomKeyStoreType>> = {
  AWS_CLOUDHSM: 'AWS_CLOUDHSM',
  EXTERNAL_KEY_STORE: 'EXTERNAL_KEY_STORE',
};

export function isCustomStoreKey(key: Pick<KeyRecord, 'origin'>): boolean {
  return key.origin in CUSTOM_STORE_ORIGINS;
}

export interface CustomKeyView {
  customKeyStoreId: string;
  cloudHsmClusterId?: string | undefined;
  xksKeyId?: string | undefined;
  available: boolean;
}

const views = new WeakMap<KeyRecord, CustomKeyView>();

/** A copy of `key` that carries its custom key store view. */
export function withCustomView(key: KeyRecord, view: CustomKeyView): KeyRecord {
  const copy = { ...key };
  views.set(copy, view);
  return copy;
}

export function customView(key: KeyRecord): CustomKeyView | undefined {
  return views.get(key);
}

/** The state operations and DescribeKey see. */
export function effectiveKeyState(key: KeyRecord): KeyState {
  const v = views.get(key);
  if (v !== undefined && !v.available && key.keyState !== 'PendingDeletion') return 'Unavailable';
  return key.keyState;
}
