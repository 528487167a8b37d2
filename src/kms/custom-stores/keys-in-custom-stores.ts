/**
 * KMS keys in custom key stores: CreateKey with CustomKeyStoreId, and the symmetric crypto
 * of such keys (Encrypt / Decrypt / GenerateDataKey* / ReEncrypt route here from
 * crypto/symmetric.ts). The blob is format v2 (hsm/ciphertext-blob.ts); the connector does the
 * cryptography (CloudHSM: CKM_AES_GCM in the token; XKS: double encryption via the proxy).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { CreateKeyRequest, KeyMetadata } from '@aws-sdk/client-kms';
import {
  blobAad,
  encodeCustomBlob,
  encodeCustomHeader,
  type CustomStoreBlob,
} from '../../hsm/ciphertext-blob.js';
import type { EncryptionContext } from '../../hsm/encryption-context.js';
import { annotateKey } from '../../keystores/attach-custom-key-view.js';
import { CUSTOM_STORE_ORIGINS } from '../../keystores/custom-key-view.js';
import type { CustomKeyStoreRecord } from '../../keystores/types.js';
import { invalidCiphertext, kmsError } from '../../errors/aws-errors.js';
import type { KeyRecord, TagRecord } from '../../storage/repository.js';
import { keyArn } from '../keys/arn.js';
import type { RequestContext } from '../context.js';
import { invalidState, loadStore, requireStores } from './custom-key-store-ops.js';
import { describeKeyMetadata } from '../keys/multi-region.js';

export interface CustomKeyInput {
  spec: string;
  usage: string;
  multiRegion: boolean;
  policy: string;
  tags: TagRecord[];
  /** Policy checks that need the final record (principals exist, lockout safety). */
  checkPolicy(key: KeyRecord): Promise<void>;
}

/** Origin for a CreateKey request naming a custom key store (validated against the store). */
export function checkCustomOrigin(input: CreateKeyRequest, store: CustomKeyStoreRecord): string {
  const origin = input.Origin ?? store.type;
  /* Precondition: Origin names the store's type (AWS_CLOUDHSM / EXTERNAL_KEY_STORE). */
  if (CUSTOM_STORE_ORIGINS[origin] !== store.type)
    throw kmsError(
      'ValidationException',
      `Origin ${origin} is not valid for custom key store ${store.customKeyStoreId} of type ${store.type}.`,
    );
  return origin;
}

/** CreateKey in a custom key store. */
export async function createCustomStoreKey(
  ctx: RequestContext,
  request: CreateKeyRequest,
  input: CustomKeyInput,
): Promise<KeyMetadata> {
  const service = requireStores(ctx);
  const store = await loadStore(ctx, request.CustomKeyStoreId as string);
  const origin = checkCustomOrigin(request, store);
  /* Precondition (CreateKey CustomKeyStoreId doc): symmetric encryption keys in one Region only. */
  if (input.spec !== 'SYMMETRIC_DEFAULT' || input.usage !== 'ENCRYPT_DECRYPT' || input.multiRegion)
    throw kmsError(
      'UnsupportedOperationException',
      'Custom key stores support only single-Region symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT).',
    );
  /* Precondition: XksKeyId exactly when the store is an external key store. */
  if (store.type === 'EXTERNAL_KEY_STORE' && request.XksKeyId === undefined)
    throw kmsError('ValidationException', 'XksKeyId is required for Origin EXTERNAL_KEY_STORE.');
  if (store.type !== 'EXTERNAL_KEY_STORE' && request.XksKeyId !== undefined)
    throw kmsError('ValidationException', 'XksKeyId is valid only with Origin EXTERNAL_KEY_STORE.');
  const connector = service.connectors.require(store.type);
  /* Precondition: the store is CONNECTED (and connected in this node). */
  if (!(await service.ensureLocal(store)))
    throw invalidState(store, 'KMS keys can be created only in a CONNECTED custom key store.');
  const repo = ctx.services.storage.customKeyStores;
  if (request.XksKeyId !== undefined) {
    for (const b of await repo.findKeyBindings(
      ctx.region,
      store.customKeyStoreId,
      request.XksKeyId,
    )) {
      if ((await ctx.services.storage.getKey(ctx.region, b.keyId)) !== undefined)
        throw kmsError(
          'XksKeyAlreadyInUseException',
          `The external key ${request.XksKeyId} is already associated with KMS key ${b.keyId} in custom key store ${store.customKeyStoreId}.`,
        );
    }
  }
  const keyId = randomUUID();
  const versionId = randomBytes(32).toString('hex');
  const key: KeyRecord = {
    region: ctx.region,
    keyId,
    accountId: ctx.principal.accountId,
    arn: keyArn(ctx.region, ctx.principal.accountId, keyId),
    description: request.Description ?? '',
    keyState: 'Enabled',
    keySpec: input.spec,
    keyUsage: input.usage,
    origin,
    keyManager: 'CUSTOMER',
    multiRegion: false,
    policy: input.policy,
    creationDate: ctx.now,
    currentVersionId: versionId,
    revision: 0,
  };
  await input.checkPolicy(key);
  const secret = service.openSecret(store);
  let made;
  try {
    made = await connector.createKey(ctx, { store, secret }, key, {
      xksKeyId: request.XksKeyId,
      versionId,
    });
  } finally {
    secret.fill(0);
  }
  // The binding first: a binding without a key is ignored, a key without one is not.
  await repo.putKeyBinding({
    region: ctx.region,
    keyId,
    customKeyStoreId: store.customKeyStoreId,
    backingKeyId: made.backingKeyId,
    createdAt: ctx.now,
  });
  await ctx.services.storage.createKey(
    key,
    made.version && { region: ctx.region, keyId, versionId, ...made.version, createdAt: ctx.now },
    input.tags,
  );
  ctx.keyArns.push(key.arn);
  return describeKeyMetadata(ctx.services.storage, await annotateKey(ctx.services, key));
}

/** The key's store, connector and binding for a crypto call; Unavailable → KMSInvalidStateException. */
async function storeOf(ctx: RequestContext, key: KeyRecord) {
  const service = requireStores(ctx);
  const repo = ctx.services.storage.customKeyStores;
  const binding = await repo.getKeyBinding(key.region, key.keyId);
  const store = binding && (await repo.getStore(key.region, binding.customKeyStoreId));
  if (binding === undefined || store === undefined || !(await service.ensureLocal(store)))
    throw kmsError('KMSInvalidStateException', `${key.arn} is unavailable.`);
  return { store, binding, connector: service.connectors.require(store.type) };
}

/** Encrypt with a custom key store key into a v2 blob. */
export async function encryptCustom(
  ctx: RequestContext,
  key: KeyRecord,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
): Promise<{ blob: Buffer; versionId: string }> {
  const { store, binding, connector } = await storeOf(ctx, key);
  const versionId = key.currentVersionId as string;
  const header = encodeCustomHeader(key.keyId, versionId, store.type);
  const payload = await connector.encrypt({
    ctx,
    store,
    key,
    binding,
    versionId,
    encryptionContext: context,
    aad: blobAad(header, context),
    plaintext,
  });
  return { blob: encodeCustomBlob(header, payload), versionId };
}

/** Decrypt a parsed v2 blob with its key (already found, authorized and state-checked by the caller). */
export async function decryptCustom(
  ctx: RequestContext,
  key: KeyRecord,
  parts: CustomStoreBlob,
  context: EncryptionContext | undefined,
): Promise<Buffer> {
  const { store, binding, connector } = await storeOf(ctx, key);
  /* Precondition: the blob was made by a store of this type, for this key's version. */
  if (parts.storeType !== store.type || parts.versionId !== key.currentVersionId)
    throw invalidCiphertext();
  return connector.decrypt({
    ctx,
    store,
    key,
    binding,
    versionId: parts.versionId,
    encryptionContext: context,
    aad: blobAad(parts.header, context),
    payload: parts.payload,
  });
}
