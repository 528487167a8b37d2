/** Attach the custom key store view to a key record (see custom-key-view.ts). */
import type { Services } from '../kms/context.js';
import type { KeyRecord } from '../storage/repository.js';
import { isCustomStoreKey, withCustomView } from './custom-key-view.js';

export async function annotateKey(
  services: Pick<Services, 'storage' | 'customKeyStores'>,
  key: KeyRecord,
): Promise<KeyRecord> {
  if (!isCustomStoreKey(key)) return key;
  const repo = services.storage.customKeyStores;
  const binding = await repo.getKeyBinding(key.region, key.keyId);
  if (binding === undefined) return key;
  const store = await repo.getStore(key.region, binding.customKeyStoreId);
  const available = store !== undefined && services.customKeyStores?.isAvailable(store) === true;
  return withCustomView(key, {
    customKeyStoreId: binding.customKeyStoreId,
    cloudHsmClusterId: store?.cloudHsm?.clusterId,
    xksKeyId: store?.type === 'EXTERNAL_KEY_STORE' ? binding.backingKeyId : undefined,
    available,
  });
}
