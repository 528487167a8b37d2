/**
 * AWS_CLOUDHSM-type custom key stores on a PKCS#11 token (SoftHSM2 in tests, any vendor's
 * module in production). CloudHsmClusterId names a cluster in keyhold's config
 * (`cloudHsmClusters`: module path + token labels). KeyStorePassword is the token's user PIN
 * (AWS's `kmsuser`). Connect logs in, rotates the PIN with C_SetPIN (AWS rotates the kmsuser
 * password on every connect) and keeps a logged-in session pool until disconnect. Keys are
 * AES-256 token objects (sensitive, non-extractable) labelled with the KMS key ARN; every
 * encryption runs in the token with CKM_AES_GCM. docs/custom-key-stores.md has the tables.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CloudHsmClusterConfig } from '../../config/cloudhsm-clusters.js';
import type { Services } from '../../kms/context.js';
import {
  connectionErrorFor,
  Pkcs11Error,
  Token,
  tokenFlags,
  loadModule,
  isFatal,
  GCM_IV_BYTES,
  GCM_TAG_BYTES,
} from '../../pkcs11/index.js';
import { GcmInvocationBudget, GcmLimitReachedError } from '../../hsm/gcm-budget.js';
import { pk } from '../../pkcs11/binding.js';
import { invalidCiphertext, kmsError, type KmsError } from '../../errors/aws-errors.js';
import type { KeyRecord } from '../../storage/repository.js';
import type {
  ConnectHooks,
  ConnectResult,
  KeyStoreConnector,
  NewStoreKey,
  StoreCryptoInput,
  StoreWithSecret,
} from '../connector.js';
import type { CustomKeyStoreKeyRecord, CustomKeyStoreRecord } from '../types.js';

/** A rotated kmsuser PIN: 32 characters (AWS's maximum KeyStorePassword length). */
function newPin(): Buffer {
  return Buffer.from(randomBytes(24).toString('base64url'), 'utf8');
}

export class CloudHsmConnector implements KeyStoreConnector {
  readonly type = 'AWS_CLOUDHSM' as const;
  private readonly tokens = new Map<string, Token>();

  constructor(
    private readonly clusters: Readonly<Record<string, CloudHsmClusterConfig>>,
    /** Counts encryptions per token key (random IVs: SP 800-38D bound); none = unbounded. */
    private readonly gcm?: GcmInvocationBudget,
  ) {}

  /** The configured cluster, or CloudHsmClusterNotFoundException (model doc wording). */
  cluster(clusterId: string): CloudHsmClusterConfig {
    const c = this.clusters[clusterId];
    if (c === undefined)
      throw kmsError(
        'CloudHsmClusterNotFoundException',
        `AWS CloudHSM cluster ${clusterId} could not be found.`,
      );
    return c;
  }

  /** The trust anchor PEM the cluster's config names, if any. */
  expectedTrustAnchor(clusterId: string): string | undefined {
    const file = this.clusters[clusterId]?.trustAnchorFile;
    return file === undefined ? undefined : readFileSync(file, 'utf8');
  }

  /**
   * Two clusters are related (UpdateCustomKeyStore may switch between them) when they reach
   * the same key material: the same module and at least one common token label (keyhold's
   * stand-in for CloudHSM's shared backup history).
   */
  related(a: string, b: string): boolean {
    const x = this.clusters[a];
    const y = this.clusters[b];
    if (x === undefined || y === undefined) return false;
    return x.module === y.module && x.tokens.some((t) => y.tokens.includes(t));
  }

  async validateSettings(_services: Services, next: StoreWithSecret): Promise<void> {
    const clusterId = next.store.cloudHsm?.clusterId ?? '';
    const cluster = this.cluster(clusterId);
    // An active cluster has at least one reachable HSM: the module loads and a token is there.
    try {
      const mod = loadModule(cluster.module);
      if (!cluster.tokens.some((label) => present(() => tokenFlags(mod, label))))
        throw new Pkcs11Error('CKR_TOKEN_NOT_PRESENT', 'C_GetSlotList');
    } catch (e) {
      if (!(e instanceof Pkcs11Error)) throw e;
      throw kmsError(
        'CloudHsmClusterNotActiveException',
        `AWS CloudHSM cluster ${clusterId} is not active: none of its HSMs (PKCS#11 tokens) is available.`,
      );
    }
  }

  async connect(
    _services: Services,
    next: StoreWithSecret,
    hooks: ConnectHooks,
  ): Promise<ConnectResult> {
    const { store } = next;
    const cluster = this.clusters[store.cloudHsm?.clusterId ?? ''];
    if (cluster === undefined) return { ok: false, code: 'CLUSTER_NOT_FOUND' };
    this.tokens.get(store.customKeyStoreId)?.close();
    this.tokens.delete(store.customKeyStoreId);
    let lastCode: ConnectResult = { ok: false, code: 'CLUSTER_NOT_FOUND' };
    for (const label of cluster.tokens) {
      const attempt = await this.connectToken(cluster, label, next.secret, hooks);
      if (attempt.ok) {
        this.tokens.set(store.customKeyStoreId, attempt.token);
        return { ok: true, newSecret: attempt.newSecret };
      }
      lastCode = { ok: false, code: attempt.code };
      // Try the next token only when this one is not there; a PIN problem is the answer.
      if (attempt.code !== 'CLUSTER_NOT_FOUND' && attempt.code !== 'INSUFFICIENT_CLOUDHSM_HSMS')
        return lastCode;
    }
    return lastCode;
  }

  private async connectToken(
    cluster: CloudHsmClusterConfig,
    label: string,
    secret: Buffer,
    hooks: ConnectHooks,
  ): Promise<
    | { ok: true; token: Token; newSecret: Buffer | undefined }
    | { ok: false; code: ReturnType<typeof connectionErrorFor> }
  > {
    const opts = {
      modulePath: cluster.module,
      label,
      maxSessions: cluster.maxSessions ?? 8,
      exclusive: hooks.rotate !== false,
    };
    let token: Token | undefined;
    let current = secret;
    try {
      const flags = tokenFlags(loadModule(cluster.module), label);
      /* Precondition: kmsuser exists (the token has a user PIN) and is not locked out. */
      if ((flags & pk.CKF_USER_PIN_INITIALIZED) === 0) return { ok: false, code: 'USER_NOT_FOUND' };
      if ((flags & pk.CKF_USER_PIN_LOCKED) !== 0) return { ok: false, code: 'USER_LOCKED_OUT' };
      try {
        token = await Token.open(opts, current.toString('utf8'));
      } catch (e) {
        // A rotation interrupted after C_SetPIN left the new PIN pending: it is the PIN now.
        if (!(e instanceof Pkcs11Error) || e.ckr !== 'CKR_PIN_INCORRECT') throw e;
        if (hooks.pendingSecret === undefined) throw e;
        current = hooks.pendingSecret;
        token = await Token.open(opts, current.toString('utf8'));
      }
      if (hooks.rotate === false) return { ok: true, token, newSecret: undefined };
      const rotated = newPin();
      await hooks.savePendingSecret(rotated);
      await token.setPin(current.toString('utf8'), rotated.toString('utf8'));
      return { ok: true, token, newSecret: rotated };
    } catch (e) {
      token?.close();
      if (e instanceof Pkcs11Error) return { ok: false, code: connectionErrorFor(e.ckr) };
      return { ok: false, code: 'INTERNAL_ERROR' };
    }
  }

  async disconnect(store: CustomKeyStoreRecord): Promise<void> {
    this.tokens.get(store.customKeyStoreId)?.close();
    this.tokens.delete(store.customKeyStoreId);
  }

  isConnected(store: CustomKeyStoreRecord): boolean {
    return this.tokens.has(store.customKeyStoreId);
  }

  /** The live token of a store (tests and the proxy-free GenerateRandom path). */
  token(store: CustomKeyStoreRecord): Token | undefined {
    return this.tokens.get(store.customKeyStoreId);
  }

  async createKey(
    _ctx: unknown,
    next: StoreWithSecret,
    key: KeyRecord,
    opts: { versionId: string },
  ): Promise<NewStoreKey> {
    const token = this.requireToken(next.store, key);
    try {
      await token.generateAesKey(key.arn, Buffer.from(opts.versionId, 'hex'));
    } catch (e) {
      throw this.tokenFailure(e, key);
    }
    return { backingKeyId: opts.versionId };
  }

  async encrypt(input: StoreCryptoInput & { plaintext: Buffer }): Promise<Buffer> {
    const token = this.requireToken(input.store, input.key);
    await this.countEncryption(input.key, input.binding.backingKeyId);
    try {
      const handle = await this.keyHandle(token, input.key);
      const r = await token.encryptGcm(handle, input.plaintext, input.aad);
      return Buffer.concat([r.iv, r.ciphertext, r.tag]);
    } catch (e) {
      throw this.tokenFailure(e, input.key);
    }
  }

  async decrypt(input: StoreCryptoInput & { payload: Buffer }): Promise<Buffer> {
    const token = this.requireToken(input.store, input.key);
    const p = input.payload;
    /* Precondition: the payload holds an IV and a tag. */
    if (p.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw invalidCiphertext();
    const handle = await this.keyHandle(token, input.key).catch((e: unknown) => {
      throw this.tokenFailure(e, input.key);
    });
    try {
      return await token.decryptGcm(
        handle,
        p.subarray(0, GCM_IV_BYTES),
        p.subarray(GCM_IV_BYTES, p.length - GCM_TAG_BYTES),
        p.subarray(p.length - GCM_TAG_BYTES),
        input.aad,
      );
    } catch (e) {
      if (e instanceof Pkcs11Error && e.ckr.endsWith('_HANDLE_INVALID'))
        token.forget(input.key.arn);
      // A bad tag is CKR_ENCRYPTED_DATA_INVALID, or CKR_GENERAL_ERROR on SoftHSM2: opaque.
      if (
        e instanceof Pkcs11Error &&
        !isFatal(e.ckr) &&
        e.ckr !== 'CKR_SESSION_COUNT' &&
        !e.ckr.endsWith('_HANDLE_INVALID')
      )
        throw invalidCiphertext();
      throw this.tokenFailure(e, input.key);
    }
  }

  async deleteKey(
    _services: Services,
    store: CustomKeyStoreRecord,
    key: KeyRecord,
    binding: CustomKeyStoreKeyRecord,
  ): Promise<'SUCCESS' | 'FAILURE'> {
    this.gcm?.forget(`cloudhsm/${key.arn}/${binding.backingKeyId}`);
    // Best effort, as AWS: it fails when the store is disconnected.
    const token = this.tokens.get(store.customKeyStoreId);
    if (token === undefined) return 'FAILURE';
    try {
      const handle = await token.findKey(key.arn);
      if (handle !== undefined) await token.destroy(handle);
      token.forget(key.arn);
      return 'SUCCESS';
    } catch {
      return 'FAILURE';
    }
  }

  /**
   * One more random-IV GCM encryption under this token key, counted before the token call (a
   * failed call stays counted: over-counting is safe). Past the limit the key only decrypts.
   */
  private async countEncryption(key: KeyRecord, backingKeyId: string): Promise<void> {
    if (this.gcm === undefined) return;
    try {
      await this.gcm.take(`cloudhsm/${key.arn}/${backingKeyId}`);
    } catch (e) {
      if (!(e instanceof GcmLimitReachedError)) throw e;
      throw kmsError(
        'KMSInvalidStateException',
        `${key.arn} has reached the AES-GCM invocation limit of its key material (${this.gcm.limit} encryptions); it can still decrypt. Create a new KMS key to encrypt.`,
      );
    }
  }

  private requireToken(store: CustomKeyStoreRecord, key: KeyRecord): Token {
    const token = this.tokens.get(store.customKeyStoreId);
    if (token === undefined)
      throw kmsError('KMSInvalidStateException', `${key.arn} is unavailable.`);
    return token;
  }

  private async keyHandle(token: Token, key: KeyRecord): Promise<Buffer> {
    const handle = await token.findKey(key.arn);
    // The key material was deleted from the cluster behind keyhold's back (fix-keystore.md).
    if (handle === undefined)
      throw kmsError(
        'KMSInvalidStateException',
        `The key material for ${key.arn} cannot be found in its AWS CloudHSM cluster.`,
      );
    return handle;
  }

  private tokenFailure(e: unknown, key: KeyRecord): KmsError | unknown {
    if (!(e instanceof Pkcs11Error)) return e;
    if (e.ckr === 'CKR_SESSION_COUNT')
      return kmsError(
        'KMSInternalException',
        'KMS cannot get a PKCS #11 session for the AWS CloudHSM cluster. Retry the request.',
      );
    if (e.ckr === 'CKR_OBJECT_HANDLE_INVALID' || e.ckr === 'CKR_KEY_HANDLE_INVALID') {
      return kmsError(
        'KMSInvalidStateException',
        `The key material for ${key.arn} cannot be found in its AWS CloudHSM cluster.`,
      );
    }
    return kmsError(
      'KMSInvalidStateException',
      'KMS cannot communicate with your CloudHSM cluster.',
      e,
    );
  }
}

function present(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
