/**
 * The XKS side of custom key stores, independent of how stores are stored: one XksClient
 * per connected store, the GetHealthStatus checks of create / update / connect and the
 * periodic one, the GetKeyMetadata checks of CreateKey, and double-encrypted crypto.
 * xks-connector.ts adapts this to the custom key store core (src/keystores/).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EncryptionContext } from '../../hsm/encryption-context.js';
import type { BackingKeyHandle, Hsm } from '../../hsm/hsm.js';
import { kmsError, type KmsError } from '../../errors/aws-errors.js';
import { xksDecrypt, xksEncrypt } from './double-encryption.js';
import {
  XksClient,
  type XksEndpoint,
  type XksHealth,
  type XksRequestMetadata,
  type XksTransport,
} from './xks-client.js';
import {
  connectionErrorCode,
  toKmsXksError,
  XksProxyFailure,
  type XksCallClass,
  type XksConnectionErrorCode,
} from './xks-errors.js';
import { setProxyUp } from './xks-metrics.js';

export interface XksStoresOptions {
  hsm: Hsm;
  transport: XksTransport;
  /** GetHealthStatus interval while CONNECTED (AWS: "every few minutes"); 0 = off. */
  healthCheckIntervalMs: number;
  logger?: Logger | undefined;
}

export type ConnectOutcome =
  { state: 'CONNECTED' } | { state: 'FAILED'; connectionErrorCode: XksConnectionErrorCode };

const NOT_CONNECTED =
  'This KMS key is in a custom key store that is not connected to its external key store proxy. Connect the external key store and try the request again.';

/** The GetHealthStatus verdict: all EKM instances UNAVAILABLE counts as unreachable. */
function requireSomeEkmAvailable(h: XksHealth): void {
  if (h.ekmFleetDetails.every((e) => e.healthStatus === 'UNAVAILABLE'))
    throw new XksProxyFailure('AllEkmUnavailable', 200);
}

export class XksStores {
  readonly #opts: XksStoresOptions;
  readonly #clients = new Map<string, XksClient>();
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(opts: XksStoresOptions) {
    this.#opts = opts;
  }

  #client(storeId: string, endpoint: XksEndpoint): XksClient {
    return new XksClient(endpoint, this.#opts.transport, { customKeyStoreId: storeId });
  }

  /**
   * CreateCustomKeyStore / UpdateCustomKeyStore: the proxy must answer GetHealthStatus with
   * these settings. Failures are the XksProxy* management exceptions.
   */
  async checkSettings(
    storeId: string,
    endpoint: XksEndpoint,
    meta: XksRequestMetadata,
  ): Promise<void> {
    const client = this.#client(storeId, endpoint);
    try {
      requireSomeEkmAvailable(await client.getHealthStatus(meta));
    } catch (err) {
      throw this.#failed(storeId, err, 'manage');
    } finally {
      client.close();
    }
  }

  /** ConnectCustomKeyStore: GetHealthStatus decides CONNECTED or FAILED with a code. */
  async connect(
    storeId: string,
    endpoint: XksEndpoint,
    meta: XksRequestMetadata,
  ): Promise<ConnectOutcome> {
    this.disconnect(storeId);
    const client = this.#client(storeId, endpoint);
    try {
      requireSomeEkmAvailable(await client.getHealthStatus(meta));
    } catch (err) {
      client.close();
      this.#opts.logger?.warn(
        { customKeyStoreId: storeId, failure: failureName(err) },
        'external key store connect failed',
      );
      return { state: 'FAILED', connectionErrorCode: connectionErrorCode(err) };
    }
    this.#clients.set(storeId, client);
    setProxyUp(storeId, true);
    this.#startHealthChecks(storeId, client);
    return { state: 'CONNECTED' };
  }

  /** Settings changed while connected (credential or path): use them from now on. */
  replaceEndpoint(storeId: string, endpoint: XksEndpoint): void {
    if (!this.#clients.has(storeId)) return;
    this.disconnect(storeId);
    const client = this.#client(storeId, endpoint);
    this.#clients.set(storeId, client);
    this.#startHealthChecks(storeId, client);
  }

  disconnect(storeId: string): void {
    const timer = this.#timers.get(storeId);
    if (timer !== undefined) clearInterval(timer);
    this.#timers.delete(storeId);
    this.#clients.get(storeId)?.close();
    this.#clients.delete(storeId);
    setProxyUp(storeId, undefined);
  }

  isConnected(storeId: string): boolean {
    return this.#clients.has(storeId);
  }

  close(): void {
    for (const id of [...this.#clients.keys()]) this.disconnect(id);
  }

  /**
   * CreateKey with XksKeyId: GetKeyMetadata must show an enabled AES_256 key that can
   * encrypt and decrypt (devguide create-xks-keys.md#xks-key-requirements; messages from
   * xks-troubleshooting.md "External key requirements not met").
   */
  async checkExternalKey(
    storeId: string,
    xksKeyId: string,
    meta: XksRequestMetadata,
  ): Promise<void> {
    const client = this.#connected(storeId, 'createKey');
    let md;
    try {
      md = await client.getKeyMetadata(xksKeyId, meta);
    } catch (err) {
      throw this.#failed(storeId, err, 'createKey');
    }
    if (md.keySpec !== 'AES_256') {
      throw kmsError(
        'XksKeyInvalidConfigurationException',
        `The key spec of the external key must be AES_256. The key spec of specified external key is ${md.keySpec}.`,
      );
    }
    if (md.keyStatus !== 'ENABLED') {
      throw kmsError(
        'XksKeyInvalidConfigurationException',
        `The status of the external key must be ENABLED. The status of specified external key is ${md.keyStatus}.`,
      );
    }
    if (!md.keyUsage.includes('ENCRYPT') || !md.keyUsage.includes('DECRYPT')) {
      throw kmsError(
        'XksKeyInvalidConfigurationException',
        `The key usage of the external key must include ENCRYPT and DECRYPT. The key use of specified external key is ${md.keyUsage.join(', ')}.`,
      );
    }
  }

  /** Encrypt for a KMS key in the store: HBK first, then the external key → payload. */
  async encrypt(
    storeId: string,
    handle: BackingKeyHandle,
    xksKeyId: string,
    plaintext: Buffer,
    context: EncryptionContext | undefined,
    blobAad: Buffer,
    meta: XksRequestMetadata,
  ): Promise<Buffer> {
    const client = this.#connected(storeId, 'crypto');
    try {
      return await xksEncrypt(
        { hsm: this.#opts.hsm, client },
        handle,
        xksKeyId,
        plaintext,
        context,
        blobAad,
        meta,
      );
    } catch (err) {
      throw this.#failed(storeId, err, 'crypto');
    }
  }

  /** Decrypt a payload: the proxy removes the outer layer, the HBK the inner one. */
  async decrypt(
    storeId: string,
    handle: BackingKeyHandle,
    xksKeyId: string,
    payload: Buffer,
    context: EncryptionContext | undefined,
    blobAad: Buffer,
    meta: XksRequestMetadata,
  ): Promise<Buffer> {
    const client = this.#connected(storeId, 'crypto');
    try {
      return await xksDecrypt(
        { hsm: this.#opts.hsm, client },
        handle,
        xksKeyId,
        payload,
        context,
        blobAad,
        meta,
      );
    } catch (err) {
      throw this.#failed(storeId, err, 'crypto');
    }
  }

  /**
   * Log a failed proxy call (AWS puts the proxy's errorMessage in the caller's logs, never in
   * the answer) and map it to the KMS exception.
   */
  #failed(storeId: string, err: unknown, callClass: XksCallClass): KmsError {
    if (err instanceof XksProxyFailure) {
      this.#opts.logger?.warn(
        {
          customKeyStoreId: storeId,
          failure: err.kind,
          httpStatus: err.httpStatus,
          proxyErrorMessage: printable(err.errorMessage),
        },
        'external key store proxy call failed',
      );
    }
    return toKmsXksError(err, callClass);
  }

  #connected(storeId: string, callClass: 'createKey' | 'crypto'): XksClient {
    const client = this.#clients.get(storeId);
    if (client !== undefined) return client;
    throw kmsError(
      callClass === 'createKey'
        ? 'CustomKeyStoreInvalidStateException'
        : 'KMSInvalidStateException',
      NOT_CONNECTED,
    );
  }

  /** GetHealthStatus every interval while CONNECTED (kmsOperation KmsHealthCheck). */
  #startHealthChecks(storeId: string, client: XksClient): void {
    const interval = this.#opts.healthCheckIntervalMs;
    if (interval <= 0) return;
    let running = false;
    const live = () => this.#timers.get(storeId) === timer;
    const timer: NodeJS.Timeout = setInterval(() => {
      if (running) return;
      running = true;
      client
        .getHealthStatus({ kmsOperation: 'KmsHealthCheck', kmsRequestId: randomUUID() })
        .then((h) => {
          requireSomeEkmAvailable(h);
          if (live()) setProxyUp(storeId, true);
        })
        .catch((err: unknown) => {
          // A check still in flight when the store disconnects reports nothing.
          if (!live()) return;
          setProxyUp(storeId, false);
          this.#opts.logger?.warn(
            { customKeyStoreId: storeId, failure: failureName(err) },
            'external key store health check failed',
          );
        })
        .finally(() => (running = false));
    }, interval);
    timer.unref();
    this.#timers.set(storeId, timer);
  }
}

/** The spec's errorMessage form: printable ASCII, under 512 characters. */
function printable(s: string | undefined): string | undefined {
  return s === undefined ? undefined : s.replace(/[^\x20-\x7e]/g, '?').slice(0, 511);
}

function failureName(err: unknown): string {
  return err instanceof XksProxyFailure ? err.kind : 'InternalError';
}
