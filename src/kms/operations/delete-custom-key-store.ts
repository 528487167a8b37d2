import type {
  DeleteCustomKeyStoreRequest,
  DeleteCustomKeyStoreResponse,
} from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import { authorizeAccount } from '../access/authorize.js';
import { invalidState, loadStore, requireStores } from '../custom-stores/custom-key-store-ops.js';
import { operation } from '../operation.js';

/**
 * Deletes a DISCONNECTED store that holds no KMS keys (keys must have been deleted after
 * their waiting period). Never touches the cluster, the proxy or the external keys.
 */
export default operation<DeleteCustomKeyStoreRequest, DeleteCustomKeyStoreResponse>({
  name: 'DeleteCustomKeyStore',
  action: 'kms:DeleteCustomKeyStore',
  readOnly: false,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:DeleteCustomKeyStore');
    requireStores(ctx);
    const store = await loadStore(ctx, input.CustomKeyStoreId as string);
    if (store.connectionState !== 'DISCONNECTED')
      throw invalidState(store, 'Disconnect it before you delete it.');
    const repo = ctx.services.storage.customKeyStores;
    const keys = await repo.countKeysInStore(ctx.region, store.customKeyStoreId);
    if (keys > 0)
      throw kmsError(
        'CustomKeyStoreHasCMKsException',
        `Custom key store ${store.customKeyStoreId} still has ${keys} KMS key(s). Schedule their deletion and wait until they are deleted.`,
      );
    await repo.deleteStore(ctx.region, store.customKeyStoreId);
    return {};
  },
});
