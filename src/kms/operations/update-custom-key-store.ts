import type {
  UpdateCustomKeyStoreRequest,
  UpdateCustomKeyStoreResponse,
} from '@aws-sdk/client-kms';
import type { CloudHsmConnector } from '../../keystores/cloudhsm/cloudhsm-connector.js';
import type { CustomKeyStoreRecord } from '../../keystores/types.js';
import { kmsError } from '../../errors/aws-errors.js';
import { DuplicateKeyError } from '../../storage/repository.js';
import { authorizeAccount } from '../access/authorize.js';
import {
  checkUnique,
  invalidState,
  loadStore,
  refuseOtherTypeParams,
  requireStores,
  xksSettings,
} from '../custom-stores/custom-key-store-ops.js';
import { operation } from '../operation.js';

/**
 * UpdateCustomKeyStore (op doc): the name may change while CONNECTED or DISCONNECTED; for an
 * external key store so may XksProxyAuthenticationCredential and XksProxyUriPath; every
 * other property needs DISCONNECTED. CloudHsmClusterId may only move to a related cluster.
 */
export default operation<UpdateCustomKeyStoreRequest, UpdateCustomKeyStoreResponse>({
  name: 'UpdateCustomKeyStore',
  action: 'kms:UpdateCustomKeyStore',
  readOnly: false,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:UpdateCustomKeyStore');
    const service = requireStores(ctx);
    const store = await loadStore(ctx, input.CustomKeyStoreId as string);
    refuseOtherTypeParams(store.type, input);
    const connector = service.connectors.require(store.type);
    const whileConnected =
      store.type === 'AWS_CLOUDHSM'
        ? ['NewCustomKeyStoreName']
        : ['NewCustomKeyStoreName', 'XksProxyAuthenticationCredential', 'XksProxyUriPath'];
    const changed = Object.keys(input).filter(
      (k) =>
        k !== 'CustomKeyStoreId' && (input as unknown as Record<string, unknown>)[k] !== undefined,
    );
    const allowed =
      store.connectionState === 'DISCONNECTED' ||
      (store.connectionState === 'CONNECTED' && changed.every((k) => whileConnected.includes(k)));
    if (!allowed)
      throw invalidState(
        store,
        'Disconnect it to change these properties (only the name, and for external key stores the proxy credential and URI path, can change while CONNECTED).',
      );

    const next: CustomKeyStoreRecord = { ...store };
    if (input.NewCustomKeyStoreName !== undefined) next.name = input.NewCustomKeyStoreName;
    let secret: Buffer | undefined;
    try {
      if (store.type === 'AWS_CLOUDHSM' && store.cloudHsm !== undefined) {
        const cloudHsm = connector as CloudHsmConnector;
        if (
          input.CloudHsmClusterId !== undefined &&
          input.CloudHsmClusterId !== store.cloudHsm.clusterId
        ) {
          cloudHsm.cluster(input.CloudHsmClusterId);
          if (!cloudHsm.related(store.cloudHsm.clusterId, input.CloudHsmClusterId))
            throw kmsError(
              'CloudHsmClusterNotRelatedException',
              `AWS CloudHSM cluster ${input.CloudHsmClusterId} is not related to cluster ${store.cloudHsm.clusterId}.`,
            );
          next.cloudHsm = { ...store.cloudHsm, clusterId: input.CloudHsmClusterId };
        }
        if (input.KeyStorePassword !== undefined)
          secret = Buffer.from(input.KeyStorePassword, 'utf8');
      } else if (store.xks !== undefined) {
        next.xks = xksSettings(input, store.xks);
        const raw = input.XksProxyAuthenticationCredential?.RawSecretAccessKey;
        if (raw !== undefined) secret = Buffer.from(raw, 'utf8');
      }
      const repo = ctx.services.storage.customKeyStores;
      checkUnique(next, await repo.listAllStores());
      const settingsChanged =
        JSON.stringify(next.cloudHsm ?? null) !== JSON.stringify(store.cloudHsm ?? null) ||
        JSON.stringify(next.xks ?? null) !== JSON.stringify(store.xks ?? null) ||
        secret !== undefined;
      if (settingsChanged) {
        const current = secret ?? service.openSecret(store);
        try {
          await connector.validateSettings(ctx.services, { store: next, secret: current }, store);
        } finally {
          if (secret === undefined) current.fill(0);
        }
      }
      if (secret !== undefined) {
        next.sealedSecret = service.sealSecret(store.customKeyStoreId, secret);
        // The operator told us the password: a PIN left pending by an interrupted rotation is stale.
        next.sealedPendingSecret = undefined;
      }
      try {
        await repo.updateStore(next);
      } catch (err) {
        if (err instanceof DuplicateKeyError)
          throw kmsError(
            'CustomKeyStoreNameInUseException',
            `A custom key store with name ${next.name} already exists in this account and Region.`,
          );
        throw err;
      }
      return {};
    } finally {
      secret?.fill(0);
    }
  },
});
