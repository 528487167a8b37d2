import type { GenerateRandomRequest, GenerateRandomResponse } from '@aws-sdk/client-kms';
import { authorizeAccount } from '../access/authorize.js';
import { kmsError } from '../../errors/aws-errors.js';
import { operation } from '../operation.js';
import { refuseRecipient } from '../keys/use-key.js';
import type { RequestContext } from '../context.js';
import { invalidState, loadStore, requireStores } from '../custom-stores/custom-key-store-ops.js';
import type { CloudHsmConnector } from '../../keystores/cloudhsm/cloudhsm-connector.js';

/** GenerateRandom with CustomKeyStoreId: random bytes from the CloudHSM store's token RNG. */
async function randomFromStore(ctx: RequestContext, id: string, n: number): Promise<Buffer> {
  const service = requireStores(ctx);
  const store = await loadStore(ctx, id);
  /* Precondition (GenerateRandom CustomKeyStoreId doc): external key store ids are refused. */
  if (store.type !== 'AWS_CLOUDHSM')
    throw kmsError(
      'UnsupportedOperationException',
      `GenerateRandom does not support external key store ${id}.`,
    );
  const joined = await service.ensureLocal(store);
  const token = (service.connectors.require('AWS_CLOUDHSM') as CloudHsmConnector).token(store);
  if (!joined || token === undefined)
    throw invalidState(store, 'GenerateRandom needs a CONNECTED AWS CloudHSM key store.');
  return token.random(n);
}

export default operation<GenerateRandomRequest, GenerateRandomResponse>({
  name: 'GenerateRandom',
  action: 'kms:GenerateRandom',
  readOnly: true,
  async handler(ctx, input) {
    await authorizeAccount(ctx, 'kms:GenerateRandom');
    refuseRecipient(input.Recipient);
    // AWS's own wording, not the generic "Value null ... must not be null".
    if (input.NumberOfBytes === undefined) {
      throw kmsError('ValidationException', 'NumberOfBytes is required.');
    }
    const bytes =
      input.CustomKeyStoreId === undefined
        ? ctx.services.hsm.random(input.NumberOfBytes)
        : await randomFromStore(ctx, input.CustomKeyStoreId, input.NumberOfBytes);
    ctx.sensitive.push(bytes);
    return { Plaintext: bytes };
  },
});
