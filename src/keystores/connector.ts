/**
 * The contract every custom key store type implements (AWS_CLOUDHSM: cloudhsm-connector.ts;
 * EXTERNAL_KEY_STORE: xks/). No I/O here. The six custom key store operations, CreateKey and
 * the symmetric crypto path call connectors; connectors never touch storage or the
 * connection state themselves — the operations do (so the state machine lives in one place).
 *
 * Errors: methods that run inside a request throw KmsError (kmsError(...)) with the AWS
 * exception; connect() reports failure as a ConnectionErrorCode instead of throwing.
 */
import type { EncryptionContext } from '../hsm/encryption-context.js';
import type { RequestContext, Services } from '../kms/context.js';
import type { KeyRecord } from '../storage/repository.js';
import type { WrappedBackingKey } from '../hsm/hsm.js';
import type {
  ConnectionErrorCode,
  CustomKeyStoreKeyRecord,
  CustomKeyStoreRecord,
  CustomKeyStoreType,
} from './types.js';

export type {
  ConnectionErrorCode,
  ConnectionState,
  CustomKeyStoreKeyRecord,
  CustomKeyStoreRecord,
  CustomKeyStoreType,
  XksProxySettings,
  CloudHsmSettings,
} from './types.js';

/** The store plus its secret opened for this call (zeroed by the caller afterwards). */
export interface StoreWithSecret {
  store: CustomKeyStoreRecord;
  /** KeyStorePassword (CloudHSM) or RawSecretAccessKey (XKS), UTF-8. */
  secret: Buffer;
}

export type ConnectResult =
  | {
      ok: true;
      /** A replacement secret to seal and store (CloudHSM: the rotated kmsuser PIN). */
      newSecret?: Buffer | undefined;
    }
  | { ok: false; code: ConnectionErrorCode };

/** Hooks a connector may call during connect (CloudHSM: persist the pending PIN first). */
export interface ConnectHooks {
  /** Store `secret` as pending before it is set on the token; resolves once durable. */
  savePendingSecret(secret: Buffer): Promise<void>;
  /** The pending secret from an interrupted rotation, if any (try it when the main one fails). */
  pendingSecret?: Buffer | undefined;
  /**
   * false when this node only joins a store another node (or an earlier run) connected: no
   * password rotation, and an existing login of this process may be shared. Default true.
   */
  rotate?: boolean | undefined;
}

export interface NewStoreKey {
  /** Shown as backingKeyId (CloudHSM) / the XksKeyId (XKS); stored in the key binding. */
  backingKeyId: string;
  /** XKS: keyhold's own HBK (inner layer of the double encryption), stored as the key version. */
  version?: WrappedBackingKey | undefined;
}

/** Input of encrypt/decrypt for a key in a connected store. */
export interface StoreCryptoInput {
  ctx: RequestContext;
  store: CustomKeyStoreRecord;
  key: KeyRecord;
  binding: CustomKeyStoreKeyRecord;
  /** The backing key version id in the blob header (XKS: the HBK version). */
  versionId: string;
  encryptionContext: EncryptionContext | undefined;
  /**
   * What the connector must authenticate: the custom blob header ‖ canonical encryption
   * context (docs/blob-format.md). CloudHSM passes it as the GCM AAD; XKS as the proxy's aad.
   */
  aad: Buffer;
}

export interface KeyStoreConnector {
  readonly type: CustomKeyStoreType;

  /**
   * CreateCustomKeyStore / UpdateCustomKeyStore: check the type-specific settings against
   * the outside world (CloudHSM: the cluster exists in config; XKS: GetHealthStatus) and
   * throw the AWS exception (CloudHsmClusterNotFoundException, XksProxyUriUnreachableException,
   * ...). `previous` is the stored record on update.
   */
  validateSettings(
    services: Services,
    next: StoreWithSecret,
    previous?: CustomKeyStoreRecord,
  ): Promise<void>;

  /**
   * Establish what crypto needs (CloudHSM: log in, rotate the PIN, keep a session pool; XKS:
   * health check). Runs in the background after ConnectCustomKeyStore returned CONNECTING.
   * Never throws: failures are a ConnectionErrorCode.
   */
  connect(services: Services, next: StoreWithSecret, hooks: ConnectHooks): Promise<ConnectResult>;

  /** Drop sessions / stop health checks. Idempotent; never throws. */
  disconnect(store: CustomKeyStoreRecord): Promise<void>;

  /** Whether this process holds a live connection for the store (after a restart: not yet). */
  isConnected(store: CustomKeyStoreRecord): boolean;

  /**
   * CreateKey in a CONNECTED store (the operation checked the state): make the backing key
   * (CloudHSM: AES-256 in the token labelled with key.arn; XKS: GetKeyMetadata of xksKeyId and
   * a fresh HBK). Throws the AWS exception (XksKeyNotFoundException, ...).
   */
  createKey(
    ctx: RequestContext,
    store: StoreWithSecret,
    key: KeyRecord,
    opts: { xksKeyId?: string | undefined; versionId: string },
  ): Promise<NewStoreKey>;

  /** Encrypt `plaintext` (≤ 4096 bytes or a data key); returns the connector payload. */
  encrypt(input: StoreCryptoInput & { plaintext: Buffer }): Promise<Buffer>;

  /**
   * Decrypt a connector payload; any failure of authenticity is InvalidCiphertextException
   * (opaque); an unreachable backend is the store type's exception.
   */
  decrypt(input: StoreCryptoInput & { payload: Buffer }): Promise<Buffer>;

  /**
   * After the waiting period (deletion job): best effort removal of the backing key
   * (CloudHSM: destroy the token object; XKS: nothing — the external key is never touched).
   */
  deleteKey(
    services: Services,
    store: CustomKeyStoreRecord,
    key: KeyRecord,
    binding: CustomKeyStoreKeyRecord,
  ): Promise<'SUCCESS' | 'FAILURE' | 'NOT_APPLICABLE'>;
}
