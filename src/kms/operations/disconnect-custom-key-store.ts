import type {
  DisconnectCustomKeyStoreRequest,
  DisconnectCustomKeyStoreResponse,
} from '@aws-sdk/client-kms';
import { authorizeAccount } from '../access/authorize.js';
import { invalidState, loadStore, requireStores } from '../custom-stores/custom-key-store-ops.js';
import { operation } from '../operation.js';

/**
 * Returns at once with the store DISCONNECTING; sessions are dropped in the background and
 * the store ends DISCONNECTED. Refused when DISCONNECTING or DISCONNECTED. Keys of the store
 * become Unavailable.
 */
export default operation<DisconnectCustomKeyStoreRequest, DisconnectCustomKeyStoreResponse>({
  name: 'DisconnectCustomKeyStore',
  action: 'kms:DisconnectCustomKeyStore',
  readOnly: false,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:DisconnectCustomKeyStore');
    const service = requireStores(ctx);
    const store = await loadStore(ctx, input.CustomKeyStoreId as string);
    let refused: Error | undefined;
    const next = await service.patch(store, (r) => {
      if (r.connectionState === 'DISCONNECTING' || r.connectionState === 'DISCONNECTED') {
        refused = invalidState(r, 'It is not connected.');
        return undefined;
      }
      return { ...r, connectionState: 'DISCONNECTING', connectionErrorCode: undefined };
    });
    if (refused !== undefined) throw refused;
    if (next !== undefined) service.startDisconnect(next);
    return {};
  },
});
