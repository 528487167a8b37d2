/**
 * One logged-in PKCS#11 token: the operations custom key stores and the XKS proxy's PKCS#11
 * backend need, over a bounded session pool. Keys are found by CKA_LABEL (keyhold labels a
 * CloudHSM-type key with its KMS key ARN). Every failure is a Pkcs11Error naming the CKR_*.
 *
 * One Token per (module, label) per process: PKCS#11 login state is shared by all sessions
 * of the process, so closing one Token logs out any other open on the same token.
 */
import { randomBytes } from 'node:crypto';
import { pk, type Handle, type PKCS11 } from './binding.js';
import { Pkcs11Error } from './errors.js';
import { livePools } from './metrics.js';
import { call, findSlot, loadModule } from './module.js';
import { SessionPool, type PoolStats } from './session-pool.js';

export interface TokenOptions {
  /** PKCS#11 library path, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  modulePath: string;
  /** CKA token label. */
  label: string;
  /** Pool bound (default 8). */
  maxSessions?: number;
  /** How long an acquire waits for a free session (default 2000 ms). */
  acquireTimeoutMs?: number;
  /**
   * Refuse to share a login: if this process is already logged in to the token (another
   * user of it), fail with CKR_USER_ALREADY_LOGGED_IN instead of riding on that login
   * without checking the PIN.
   */
  exclusive?: boolean;
}

/** What a proxy or an operator may read about a key (never CKA_VALUE). */
export interface KeyAttributes {
  label: string;
  id: Buffer;
  keyType: 'AES' | 'OTHER';
  /** Key length in bytes (CKA_VALUE_LEN). */
  valueLen: number;
  sensitive: boolean;
  extractable: boolean;
  encrypt: boolean;
  decrypt: boolean;
  token: boolean;
}

export interface GcmResult {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/** A key handle; handles of token objects stay valid across the application's sessions. */
export type KeyHandle = Handle;

export class Token {
  private readonly handles = new Map<string, Handle>();

  private constructor(
    readonly mod: PKCS11,
    readonly label: string,
    private pin: string,
    private readonly pool: SessionPool,
  ) {}

  /**
   * Load the module, find the token by label and log in as user with `pin` (one session is
   * opened now so a wrong PIN fails here). Throws Pkcs11Error (CKR_PIN_INCORRECT,
   * CKR_TOKEN_NOT_PRESENT, CKR_LIBRARY_LOAD_FAILED, ...).
   */
  static async open(opts: TokenOptions, pin: string): Promise<Token> {
    const mod = loadModule(opts.modulePath);
    const slot = findSlot(mod, opts.label);
    if (opts.exclusive === true) assertNotLoggedIn(mod, slot);
    const holder: { token?: Token } = {};
    const pool = new SessionPool(
      mod,
      slot,
      () => holder.token?.pin ?? '',
      opts.maxSessions ?? 8,
      opts.acquireTimeoutMs ?? 2000,
      opts.label,
    );
    const token = new Token(mod, opts.label, pin, pool);
    holder.token = token;
    const first = await pool.acquire();
    pool.release(first, false);
    livePools.set(opts.label, () => pool.stats());
    return token;
  }

  stats(): PoolStats {
    return this.pool.stats();
  }

  /** C_SetPIN for the logged-in user; later logins use the new PIN. */
  async setPin(oldPin: string, newPin: string): Promise<void> {
    await this.pool.with('C_SetPIN', (s) => this.mod.C_SetPIN(s, oldPin, newPin));
    this.pin = newPin;
  }

  /** Generate a persistent, sensitive, non-extractable AES key (CKM_AES_KEY_GEN). */
  async generateAesKey(label: string, id: Buffer, bytes = 32): Promise<KeyHandle> {
    const handle = await this.pool.with('C_GenerateKey', (s) =>
      this.mod.C_GenerateKey(s, { mechanism: pk.CKM_AES_KEY_GEN }, [
        { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
        { type: pk.CKA_KEY_TYPE, value: pk.CKK_AES },
        { type: pk.CKA_VALUE_LEN, value: bytes },
        { type: pk.CKA_TOKEN, value: true },
        { type: pk.CKA_PRIVATE, value: true },
        { type: pk.CKA_SENSITIVE, value: true },
        { type: pk.CKA_EXTRACTABLE, value: false },
        { type: pk.CKA_ENCRYPT, value: true },
        { type: pk.CKA_DECRYPT, value: true },
        { type: pk.CKA_WRAP, value: false },
        { type: pk.CKA_UNWRAP, value: false },
        { type: pk.CKA_LABEL, value: label },
        { type: pk.CKA_ID, value: id },
      ]),
    );
    this.handles.set(label, handle);
    return handle;
  }

  /** Find a secret key by CKA_LABEL (first match), or undefined. */
  async findKey(label: string): Promise<KeyHandle | undefined> {
    const cached = this.handles.get(label);
    if (cached !== undefined) return cached;
    const found = await this.pool.with('C_FindObjects', (s) => {
      this.mod.C_FindObjectsInit(s, [
        { type: pk.CKA_CLASS, value: pk.CKO_SECRET_KEY },
        { type: pk.CKA_LABEL, value: label },
      ]);
      try {
        return this.mod.C_FindObjects(s, 1)[0];
      } finally {
        this.mod.C_FindObjectsFinal(s);
      }
    });
    if (found !== undefined) this.handles.set(label, found);
    return found;
  }

  /** AES-GCM encrypt inside the token: 12-byte IV from Node's CSPRNG, 128-bit tag. */
  async encryptGcm(key: KeyHandle, plaintext: Buffer, aad: Buffer): Promise<GcmResult> {
    const iv = randomBytes(GCM_IV_BYTES);
    const out = await this.pool.with('C_Encrypt', (s) => {
      this.mod.C_EncryptInit(s, gcm(iv, aad), key);
      return this.mod.C_Encrypt(s, plaintext, Buffer.alloc(plaintext.length + GCM_TAG_BYTES));
    });
    return {
      iv,
      ciphertext: out.subarray(0, out.length - GCM_TAG_BYTES),
      tag: out.subarray(out.length - GCM_TAG_BYTES),
    };
  }

  /**
   * AES-GCM decrypt inside the token. A wrong tag is CKR_ENCRYPTED_DATA_INVALID on most
   * modules and CKR_GENERAL_ERROR on SoftHSM2: callers treat any failure of a decrypt as
   * an invalid ciphertext.
   */
  async decryptGcm(
    key: KeyHandle,
    iv: Buffer,
    ciphertext: Buffer,
    tag: Buffer,
    aad: Buffer,
  ): Promise<Buffer> {
    const input = Buffer.concat([ciphertext, tag]);
    return this.pool.with('C_Decrypt', (s) => {
      this.mod.C_DecryptInit(s, gcm(iv, aad), key);
      return this.mod.C_Decrypt(s, input, Buffer.alloc(input.length));
    });
  }

  async keyAttributes(key: KeyHandle): Promise<KeyAttributes> {
    const attrs = await this.pool.with('C_GetAttributeValue', (s) =>
      this.mod.C_GetAttributeValue(s, key, [
        { type: pk.CKA_LABEL },
        { type: pk.CKA_ID },
        { type: pk.CKA_KEY_TYPE },
        { type: pk.CKA_VALUE_LEN },
        { type: pk.CKA_SENSITIVE },
        { type: pk.CKA_EXTRACTABLE },
        { type: pk.CKA_ENCRYPT },
        { type: pk.CKA_DECRYPT },
        { type: pk.CKA_TOKEN },
      ]),
    );
    const v = (i: number): Buffer => attrs[i]?.value ?? Buffer.alloc(0);
    const bool = (i: number): boolean => v(i)[0] === 1;
    const ulong = (i: number): number => (v(i).length >= 4 ? v(i).readUInt32LE(0) : 0);
    return {
      label: v(0).toString('utf8'),
      id: Buffer.from(v(1)),
      keyType: ulong(2) === pk.CKK_AES ? 'AES' : 'OTHER',
      valueLen: ulong(3),
      sensitive: bool(4),
      extractable: bool(5),
      encrypt: bool(6),
      decrypt: bool(7),
      token: bool(8),
    };
  }

  /** Destroy a token object; CKR_OBJECT_HANDLE_INVALID when it is gone already. */
  async destroy(key: KeyHandle): Promise<void> {
    await this.pool.with('C_DestroyObject', (s) => this.mod.C_DestroyObject(s, key));
    for (const [label, h] of this.handles) if (h.equals(key)) this.handles.delete(label);
  }

  /** Random bytes from the token's RNG (GenerateRandom with a CloudHSM CustomKeyStoreId). */
  async random(n: number): Promise<Buffer> {
    return this.pool.with('C_GenerateRandom', (s) => this.mod.C_GenerateRandom(s, Buffer.alloc(n)));
  }

  /** Forget a cached handle (after CKR_OBJECT_HANDLE_INVALID / CKR_KEY_HANDLE_INVALID). */
  forget(label: string): void {
    this.handles.delete(label);
  }

  /** Log out and close all sessions. */
  close(): void {
    this.pool.close();
    livePools.delete(this.label);
    this.handles.clear();
    this.pin = '';
  }
}

/** Probe the token's login state with a throw-away session. */
function assertNotLoggedIn(mod: PKCS11, slot: Handle): void {
  const probe = call('C_OpenSession', () => mod.C_OpenSession(slot, pk.CKF_SERIAL_SESSION));
  try {
    const state = call('C_GetSessionInfo', () => mod.C_GetSessionInfo(probe)).state;
    // CKS_RO_USER_FUNCTIONS (1) for a read-only session: the user is logged in already.
    if (state === 1 || state === 3) throw new Pkcs11Error('CKR_USER_ALREADY_LOGGED_IN', 'C_Login');
  } finally {
    mod.C_CloseSession(probe);
  }
}

function gcm(iv: Buffer, aad: Buffer): import('pkcs11js').Mechanism {
  const parameter: import('pkcs11js').GcmParams = {
    type: pk.CK_PARAMS_GCM,
    iv,
    ivBits: GCM_IV_BYTES * 8,
    aad,
    tagBits: GCM_TAG_BYTES * 8,
  };
  return { mechanism: pk.CKM_AES_GCM, parameter };
}

export { Pkcs11Error };
