import type {
  ConnectCustomKeyStoreRequest,
  ConnectCustomKeyStoreResponse,
} from '@aws-sdk/client-kms';
import { authorizeAccount } from '../access/authorize.js';
import { invalidState, loadStore, requireStores } from '../custom-stores/custom-key-store-ops.js';
import { operation } from '../operation.js';

/**
 * Returns at once with the store CONNECTING; the connector runs in the background
 * (keystores/service.ts). Valid in every state but DISCONNECTING and FAILED (a FAILED store
 * must be disconnected first); connecting a CONNECTED or CONNECTING store changes nothing.
 */
export default operation<ConnectCustomKeyStoreRequest, ConnectCustomKeyStoreResponse>({
  name: 'ConnectCustomKeyStore',
  action: 'kms:ConnectCustomKeyStore',
  readOnly: false,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:ConnectCustomKeyStore');
    const service = requireStores(ctx);
    const store = await loadStore(ctx, input.CustomKeyStoreId as string);
    service.connectors.require(store.type);
    let refused: Error | undefined;
    const next = await service.patch(store, (r) => {
      if (r.connectionState === 'DISCONNECTING' || r.connectionState === 'FAILED') {
        refused = invalidState(
          r,
          r.connectionState === 'FAILED'
            ? 'To reconnect a custom key store in the FAILED state, disconnect it first.'
            : 'Wait until it is DISCONNECTED.',
        );
        return undefined;
      }
      if (r.connectionState !== 'DISCONNECTED') return undefined;
      return { ...r, connectionState: 'CONNECTING', connectionErrorCode: undefined };
    });
    if (refused !== undefined) throw refused;
    if (
      next !== undefined &&
      next.connectionState === 'CONNECTING' &&
      next.revision !== store.revision
    )
      service.startConnect(next);
    return {};
  },
});
