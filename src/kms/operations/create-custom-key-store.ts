import type {
  CreateCustomKeyStoreRequest,
  CreateCustomKeyStoreResponse,
} from '@aws-sdk/client-kms';
import type { CloudHsmConnector } from '../../keystores/cloudhsm/cloudhsm-connector.js';
import type { CustomKeyStoreRecord, CustomKeyStoreType } from '../../keystores/types.js';
import { kmsError } from '../../errors/aws-errors.js';
import { DuplicateKeyError } from '../../storage/repository.js';
import { authorizeAccount } from '../access/authorize.js';
import {
  checkTrustAnchor,
  checkUnique,
  MAX_CUSTOM_KEY_STORES,
  newCustomKeyStoreId,
  refuseOtherTypeParams,
  requireParams,
  requireStores,
  sameSecret,
  xksSettings,
} from '../custom-stores/custom-key-store-ops.js';
import { operation } from '../operation.js';

export default operation<CreateCustomKeyStoreRequest, CreateCustomKeyStoreResponse>({
  name: 'CreateCustomKeyStore',
  action: 'kms:CreateCustomKeyStore',
  readOnly: false,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:CreateCustomKeyStore');
    const service = requireStores(ctx);
    const type: CustomKeyStoreType = input.CustomKeyStoreType ?? 'AWS_CLOUDHSM';
    refuseOtherTypeParams(type, input);
    requireParams(type, input);
    const connector = service.connectors.require(type);
    const secret = Buffer.from(
      type === 'AWS_CLOUDHSM'
        ? (input.KeyStorePassword as string)
        : (input.XksProxyAuthenticationCredential?.RawSecretAccessKey as string),
      'utf8',
    );
    try {
      const candidate: CustomKeyStoreRecord = {
        region: ctx.region,
        accountId: ctx.principal.accountId,
        customKeyStoreId: newCustomKeyStoreId(),
        name: input.CustomKeyStoreName as string,
        type,
        connectionState: 'DISCONNECTED',
        creationDate: ctx.now,
        cloudHsm:
          type === 'AWS_CLOUDHSM'
            ? {
                clusterId: input.CloudHsmClusterId as string,
                trustAnchorCertificate: input.TrustAnchorCertificate as string,
              }
            : undefined,
        xks: type === 'EXTERNAL_KEY_STORE' ? xksSettings(input) : undefined,
        sealedSecret: Buffer.alloc(0),
        revision: 0,
      };
      const repo = ctx.services.storage.customKeyStores;
      const sameName = await repo.getStoreByName(ctx.region, candidate.accountId, candidate.name);
      if (sameName !== undefined) {
        // Devguide "Creating a custom key store": a request whose properties all equal those of
        // a DISCONNECTED store is a retry: nothing is created and that store's id is returned.
        if (
          sameName.connectionState === 'DISCONNECTED' &&
          sameProperties(service, sameName, candidate, secret)
        )
          return { CustomKeyStoreId: sameName.customKeyStoreId };
        throw nameInUse(candidate.name);
      }
      if ((await repo.countStores(ctx.region, candidate.accountId)) >= MAX_CUSTOM_KEY_STORES)
        throw kmsError(
          'LimitExceededException',
          `You have reached the limit of ${MAX_CUSTOM_KEY_STORES} custom key stores in this account and Region.`,
        );
      checkUnique(candidate, await repo.listAllStores());
      if (candidate.cloudHsm !== undefined) {
        const cloudHsm = connector as CloudHsmConnector;
        cloudHsm.cluster(candidate.cloudHsm.clusterId);
        checkTrustAnchor(
          candidate.cloudHsm.trustAnchorCertificate,
          candidate.cloudHsm.clusterId,
          cloudHsm.expectedTrustAnchor(candidate.cloudHsm.clusterId),
        );
      }
      await connector.validateSettings(ctx.services, { store: candidate, secret });
      candidate.sealedSecret = service.sealSecret(candidate.customKeyStoreId, secret);
      try {
        await repo.createStore(candidate);
      } catch (err) {
        if (err instanceof DuplicateKeyError) throw nameInUse(candidate.name);
        throw err;
      }
      return { CustomKeyStoreId: candidate.customKeyStoreId };
    } finally {
      secret.fill(0);
    }
  },
});

function nameInUse(name: string): Error {
  return kmsError(
    'CustomKeyStoreNameInUseException',
    `A custom key store with name ${name} already exists in this account and Region.`,
  );
}

function sameProperties(
  service: ReturnType<typeof requireStores>,
  existing: CustomKeyStoreRecord,
  candidate: CustomKeyStoreRecord,
  secret: Buffer,
): boolean {
  if (existing.type !== candidate.type) return false;
  if (JSON.stringify(existing.cloudHsm ?? null) !== JSON.stringify(candidate.cloudHsm ?? null))
    return false;
  if (JSON.stringify(existing.xks ?? null) !== JSON.stringify(candidate.xks ?? null)) return false;
  const stored = service.openSecret(existing);
  try {
    return sameSecret(stored, secret);
  } finally {
    stored.fill(0);
  }
}
