/**
 * The EXTERNAL_KEY_STORE connector: the custom key store core (keystores/connector.ts) calls
 * it for the six store operations, CreateKey and symmetric crypto; it talks to the store's
 * XKS proxy through XksStores. It never touches storage or the connection state (the
 * operations do), except to read the key's HBK version for the inner layer.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { BackingKeyHandle, Hsm } from '../../hsm/hsm.js';
import type { RequestContext, Services } from '../../kms/context.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { KeyRecord } from '../../storage/repository.js';
import type {
  ConnectHooks,
  ConnectResult,
  CustomKeyStoreKeyRecord,
  CustomKeyStoreRecord,
  KeyStoreConnector,
  NewStoreKey,
  StoreCryptoInput,
  StoreWithSecret,
} from '../connector.js';
import { secretLabel } from '../types.js';
import type { XksEndpoint, XksRequestMetadata, XksTransport } from './xks-client.js';
import { forgetStore, hasCredentialTime, setCredentialTime } from './xks-metrics.js';
import { XksStores } from './xks-stores.js';

export interface XksConnectorOptions {
  hsm: Hsm;
  transport: XksTransport;
  healthCheckIntervalMs: number;
  logger?: Logger | undefined;
}

const URI_ENDPOINT = /^https:\/\/[a-zA-Z0-9.-]+$/;
const URI_PATH = /^(\/[a-zA-Z0-9/_-]+\/kms\/xks\/v\d{1,2})$|^(\/kms\/xks\/v\d{1,2})$/;

export class XksConnector implements KeyStoreConnector {
  readonly type = 'EXTERNAL_KEY_STORE' as const;
  readonly #stores: XksStores;

  constructor(opts: XksConnectorOptions) {
    this.#stores = new XksStores(opts);
  }

  async validateSettings(
    services: Services,
    next: StoreWithSecret,
    previous?: CustomKeyStoreRecord,
  ): Promise<void> {
    const endpoint = this.#endpoint(next);
    const id = next.store.customKeyStoreId;
    await this.#stores.checkSettings(id, endpoint, {
      kmsOperation: previous === undefined ? 'CreateCustomKeyStore' : 'UpdateCustomKeyStore',
      kmsRequestId: randomUUID(),
    });
    if (previous === undefined || this.#credentialChanged(services, next, previous))
      setCredentialTime(id, services.clock.now());
    // Credential and path may change while CONNECTED: use them from now on.
    this.#stores.replaceEndpoint(id, endpoint);
  }

  async connect(
    _services: Services,
    next: StoreWithSecret,
    _hooks: ConnectHooks,
  ): Promise<ConnectResult> {
    const id = next.store.customKeyStoreId;
    // After a restart the set time is unknown: the store's creation is the lower bound.
    if (!hasCredentialTime(id)) setCredentialTime(id, next.store.creationDate);
    let endpoint: XksEndpoint;
    try {
      endpoint = this.#endpoint(next);
    } catch {
      return { ok: false, code: 'XKS_PROXY_INVALID_CONFIGURATION' };
    }
    const outcome = await this.#stores.connect(id, endpoint, {
      kmsOperation: 'ConnectCustomKeyStore',
      kmsRequestId: randomUUID(),
    });
    return outcome.state === 'CONNECTED'
      ? { ok: true }
      : { ok: false, code: outcome.connectionErrorCode };
  }

  async disconnect(store: CustomKeyStoreRecord): Promise<void> {
    this.#stores.disconnect(store.customKeyStoreId);
  }

  isConnected(store: CustomKeyStoreRecord): boolean {
    return this.#stores.isConnected(store.customKeyStoreId);
  }

  async createKey(
    ctx: RequestContext,
    store: StoreWithSecret,
    key: KeyRecord,
    opts: { xksKeyId?: string | undefined; versionId: string },
  ): Promise<NewStoreKey> {
    const xksKeyId = opts.xksKeyId;
    /* Precondition: an external key store key names its external key (CreateKey XksKeyId). */
    if (xksKeyId === undefined) {
      throw kmsError(
        'ValidationException',
        'XksKeyId is required when Origin is EXTERNAL_KEY_STORE.',
      );
    }
    await this.#stores.checkExternalKey(store.store.customKeyStoreId, xksKeyId, {
      ...this.#meta(ctx, 'CreateKey'),
    });
    // The inner layer of the double encryption: keyhold's own HBK for this key.
    const version = ctx.services.hsm.createBackingKey({
      keyArn: key.arn,
      versionId: opts.versionId,
    });
    return { backingKeyId: xksKeyId, version };
  }

  async encrypt(input: StoreCryptoInput & { plaintext: Buffer }): Promise<Buffer> {
    const handle = await this.#handle(input);
    return this.#stores.encrypt(
      input.store.customKeyStoreId,
      handle,
      input.binding.backingKeyId,
      input.plaintext,
      input.encryptionContext,
      input.aad,
      { ...this.#meta(input.ctx, 'Encrypt'), kmsKeyArn: input.key.arn },
    );
  }

  async decrypt(input: StoreCryptoInput & { payload: Buffer }): Promise<Buffer> {
    const handle = await this.#handle(input);
    return this.#stores.decrypt(
      input.store.customKeyStoreId,
      handle,
      input.binding.backingKeyId,
      input.payload,
      input.encryptionContext,
      input.aad,
      { ...this.#meta(input.ctx, 'Decrypt'), kmsKeyArn: input.key.arn },
    );
  }

  /** The external key is never touched: deleting a KMS key leaves it in its key manager. */
  async deleteKey(
    _services: Services,
    store: CustomKeyStoreRecord,
    _key: KeyRecord,
    _binding: CustomKeyStoreKeyRecord,
  ): Promise<'SUCCESS' | 'FAILURE' | 'NOT_APPLICABLE'> {
    void store;
    return 'NOT_APPLICABLE';
  }

  /** Stop health checks and close agents (node shutdown). */
  close(): void {
    this.#stores.close();
  }

  /** The store was deleted: forget its metrics. */
  forget(store: CustomKeyStoreRecord): void {
    this.#stores.disconnect(store.customKeyStoreId);
    forgetStore(store.customKeyStoreId);
  }

  #endpoint(s: StoreWithSecret): XksEndpoint {
    const x = s.store.xks;
    if (x === undefined) throw new Error('external key store without proxy settings');
    /* Precondition: https:// and no port or path (model XksProxyUriEndpointType). */
    if (!URI_ENDPOINT.test(x.uriEndpoint)) {
      throw kmsError(
        'XksProxyInvalidConfigurationException',
        `XksProxyUriEndpoint ${x.uriEndpoint} must be https:// followed by a DNS name, with no port or path.`,
      );
    }
    /* Precondition: the path ends in /kms/xks/v<n> (model XksProxyUriPathType). */
    if (!URI_PATH.test(x.uriPath)) {
      throw kmsError(
        'XksProxyInvalidConfigurationException',
        `XksProxyUriPath ${x.uriPath} must end in /kms/xks/v1 with an optional prefix.`,
      );
    }
    return {
      uriEndpoint: x.uriEndpoint,
      uriPath: x.uriPath,
      accessKeyId: x.accessKeyId,
      secretAccessKey: s.secret.toString('utf8'),
      region: s.store.region,
    };
  }

  #credentialChanged(
    services: Services,
    next: StoreWithSecret,
    previous: CustomKeyStoreRecord,
  ): boolean {
    if (next.store.xks?.accessKeyId !== previous.xks?.accessKeyId) return true;
    let old: Buffer | undefined;
    try {
      old = services.hsm.openSecret(secretLabel(previous.customKeyStoreId), previous.sealedSecret);
      return old.length !== next.secret.length || !timingSafeEqual(old, next.secret);
    } catch {
      return true;
    } finally {
      old?.fill(0);
    }
  }

  #meta(ctx: RequestContext, fallback: string): XksRequestMetadata {
    return {
      kmsOperation: ctx.operation ?? fallback,
      kmsRequestId: ctx.requestId,
      awsPrincipalArn: ctx.principal.arn,
    };
  }

  async #handle(input: StoreCryptoInput): Promise<BackingKeyHandle> {
    const { key, versionId, ctx } = input;
    const v = await ctx.services.storage.getKeyVersion(key.region, key.keyId, versionId);
    /* Precondition: the HBK version the ciphertext names belongs to this key. */
    if (v === undefined) throw kmsError('InvalidCiphertextException', '');
    return { keyId: key.keyId, keyArn: key.arn, versionId, domainKeyId: v.domainKeyId, ekt: v.ekt };
  }
}
