/**
 * PKCS#11 backend: external keys are AES secret keys in a token (SoftHSM2 here, any
 * vendor's module in production), found by CKA_LABEL = externalKeyId, used with CKM_AES_GCM
 * inside the token through keyhold's token layer (src/pkcs11). Key usage comes from the
 * key's CKA_ENCRYPT / CKA_DECRYPT; PKCS#11 has no enabled/disabled state, so ids listed in
 * `disabledKeys` report DISABLED (spec: a proxy that cannot disable reports ENABLED).
 */
import { loadModule, findSlot, Token, trimLabel, type KeyHandle } from '../pkcs11/index.js';
import { Pkcs11Error } from '../pkcs11/errors.js';
import {
  AuthTagError,
  type EkmInstance,
  type GcmResult,
  type XksBackend,
  type XksKeyMetadata,
  type XksKeyUsage,
} from './backend.js';
import type { BackendConfig } from './config.js';

type Pkcs11Config = Extract<BackendConfig, { type: 'pkcs11' }>;

/** Codes a GCM decrypt answers for a bad tag (SoftHSM2: CKR_GENERAL_ERROR, see notes 06). */
const BAD_TAG = new Set([
  'CKR_ENCRYPTED_DATA_INVALID',
  'CKR_ENCRYPTED_DATA_LEN_RANGE',
  'CKR_GENERAL_ERROR',
  'CKR_FUNCTION_FAILED',
]);

export class Pkcs11Backend implements XksBackend {
  readonly kind = 'pkcs11' as const;
  readonly ekmVendor: string;
  readonly token: Token;
  readonly #model: string;
  readonly #serial: string;
  #disabled: Set<string>;

  private constructor(
    token: Token,
    info: { vendor: string; model: string; serial: string },
    disabled: string[],
  ) {
    this.token = token;
    this.ekmVendor = info.vendor;
    this.#model = info.model;
    this.#serial = info.serial;
    this.#disabled = new Set(disabled);
  }

  static async open(cfg: Pkcs11Config): Promise<Pkcs11Backend> {
    const token = await Token.open(
      {
        modulePath: cfg.module,
        label: cfg.tokenLabel,
        ...(cfg.maxSessions !== undefined ? { maxSessions: cfg.maxSessions } : {}),
      },
      cfg.pin,
    );
    const mod = loadModule(cfg.module);
    const info = mod.C_GetTokenInfo(findSlot(mod, cfg.tokenLabel));
    return new Pkcs11Backend(
      token,
      {
        vendor: trimLabel(info.manufacturerID) || 'PKCS#11',
        model: trimLabel(info.model) || 'PKCS#11 token',
        serial: trimLabel(info.serialNumber) || cfg.tokenLabel,
      },
      cfg.disabledKeys ?? [],
    );
  }

  /** Replace the set of ids reported DISABLED (config reload, tests). */
  setDisabledKeys(ids: readonly string[]): void {
    this.#disabled = new Set(ids);
  }

  async metadata(keyId: string): Promise<XksKeyMetadata | undefined> {
    const h = await this.token.findKey(keyId);
    if (h === undefined) return undefined;
    let a;
    try {
      a = await this.token.keyAttributes(h);
    } catch (err) {
      // A cached handle of a key destroyed meanwhile: look it up again once.
      if (err instanceof Pkcs11Error && /HANDLE_INVALID/.test(err.ckr)) {
        this.token.forget(keyId);
        return this.metadata(keyId);
      }
      throw err;
    }
    const usage: XksKeyUsage[] = [];
    if (a.encrypt) usage.push('ENCRYPT');
    if (a.decrypt) usage.push('DECRYPT');
    return {
      keySpec: a.keyType === 'AES' ? `AES_${a.valueLen * 8}` : 'UNSUPPORTED',
      keyUsage: usage,
      keyStatus: this.#disabled.has(keyId) ? 'DISABLED' : 'ENABLED',
    };
  }

  async encrypt(keyId: string, plaintext: Buffer, aad: Buffer): Promise<GcmResult> {
    return this.token.encryptGcm(await this.#key(keyId), plaintext, aad);
  }

  async decrypt(keyId: string, ct: Buffer, iv: Buffer, tag: Buffer, aad: Buffer): Promise<Buffer> {
    if (iv.length !== 12) throw new AuthTagError(); // the token layer uses 96-bit IVs only
    try {
      return await this.token.decryptGcm(await this.#key(keyId), iv, ct, tag, aad);
    } catch (err) {
      if (err instanceof Pkcs11Error && BAD_TAG.has(err.ckr)) throw new AuthTagError();
      throw err;
    }
  }

  /** Deep check: the token answers C_GenerateRandom through the session pool. */
  async health(): Promise<EkmInstance[]> {
    let status: EkmInstance['healthStatus'] = 'ACTIVE';
    try {
      const r = await this.token.random(16);
      if (r.length !== 16) status = 'UNAVAILABLE';
      const s = this.token.stats();
      // Every session busy: still serving, but callers queue.
      if (status === 'ACTIVE' && s.inUse >= s.max) status = 'DEGRADED';
    } catch {
      status = 'UNAVAILABLE';
    }
    return [{ id: this.#serial, model: this.#model, healthStatus: status }];
  }

  async close(): Promise<void> {
    this.token.close();
  }

  async #key(keyId: string): Promise<KeyHandle> {
    const h = await this.token.findKey(keyId);
    if (h === undefined) throw new Error('key vanished from the token');
    return h;
  }
}
