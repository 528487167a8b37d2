/**
 * Custom key stores and the binding of KMS keys to them (contract only; sqlite/ and
 * postgres/ implement it, test/unit/storage/conformance.ts checks both). Secrets arrive
 * sealed (hsm.sealSecret); the repository never sees them in clear.
 */
import type { CustomKeyStoreKeyRecord, CustomKeyStoreRecord } from '../keystores/types.js';
import type { PageRequest } from './repository.js';

export interface CustomKeyStoreRepository {
  /**
   * Insert a store. Throws DuplicateKeyError when the id, or the name in the account and
   * Region, exists already.
   */
  createStore(store: CustomKeyStoreRecord): Promise<void>;
  getStore(region: string, customKeyStoreId: string): Promise<CustomKeyStoreRecord | undefined>;
  getStoreByName(
    region: string,
    accountId: string,
    name: string,
  ): Promise<CustomKeyStoreRecord | undefined>;
  /** Stores of one account and Region ordered by id; `after` is an exclusive id. */
  listStores(region: string, accountId: string, page: PageRequest): Promise<CustomKeyStoreRecord[]>;
  /** Every store of every account (connect-on-start, uniqueness of clusters / proxy URIs). */
  listAllStores(): Promise<CustomKeyStoreRecord[]>;
  countStores(region: string, accountId: string): Promise<number>;
  /**
   * Replace the store's mutable fields if its revision is still `store.revision`; returns
   * the stored record (revision + 1). Throws ConcurrentUpdateError otherwise, and
   * DuplicateKeyError on a name clash.
   */
  updateStore(store: CustomKeyStoreRecord): Promise<CustomKeyStoreRecord>;
  /** Returns false when it did not exist. */
  deleteStore(region: string, customKeyStoreId: string): Promise<boolean>;

  /** Bind a KMS key to its store (written before the key itself; orphans are harmless). */
  putKeyBinding(binding: CustomKeyStoreKeyRecord): Promise<void>;
  getKeyBinding(region: string, keyId: string): Promise<CustomKeyStoreKeyRecord | undefined>;
  /** Bindings of a store whose backingKeyId is `backingKeyId` (XksKeyAlreadyInUseException). */
  findKeyBindings(
    region: string,
    customKeyStoreId: string,
    backingKeyId?: string,
  ): Promise<CustomKeyStoreKeyRecord[]>;
  /** Keys still in the store (CustomKeyStoreHasCMKsException). */
  countKeysInStore(region: string, customKeyStoreId: string): Promise<number>;
  deleteKeyBinding(region: string, keyId: string): Promise<void>;

  /**
   * AES-GCM invocations under a token key (crypto bound, hsm/gcm-budget.ts): atomically add
   * `n` to the counter named `counterId` (0 when new) and return the new total. Kept in
   * kms_meta as `gcm_invocations/<counterId>`.
   */
  reserveGcmInvocations(counterId: string, n: number): Promise<number>;
}
