/**
 * The software backend's key file: AES-256 keys sealed with a key derived from an operator
 * passphrase (scrypt → AES-256-GCM per key, AAD binding each key to its id), plus key
 * state and usage, the whole file authenticated by an HMAC under a second derived key so
 * that nobody without the passphrase can enable a disabled key or widen its usage.
 *
 * Written atomically (temp file + rename, mode 0600). Plaintext keys exist only in memory,
 * as SecretBytes, zeroized on close.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  scrypt as scryptCb,
  timingSafeEqual,
} from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ConfigError } from '../config/config.js';
import { checkScryptParams } from '../hsm/root-passphrase.js';
import { SecretBytes } from '../hsm/secret-bytes.js';
import { XKS_KEY_USAGES, type XksKeyStatus, type XksKeyUsage } from './backend.js';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const FORMAT = 'keyhold-xks-keys';
/** Spec: externalKeyId ≤ 128 chars of `A-Z a-z 0-9 - . _`. */
export const KEY_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;
/** scrypt for new files and `keys upgrade` (as the root passphrase: 128 MiB, ~0.4 s). */
export const KEY_FILE_KDF: Readonly<KdfParams> = { N: 2 ** 17, r: 8, p: 1 };
/** Characters (code points) of a passphrase; files made before this rule needed 8. */
export const MIN_KEY_FILE_PASSPHRASE_LENGTH = 16;
const LEGACY_MIN_PASSPHRASE_LENGTH = 8;

export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

export interface KeyEntry {
  id: string;
  state: XksKeyStatus;
  usage: XksKeyUsage[];
  createdAt: string;
}

interface StoredKey extends KeyEntry {
  spec: 'AES_256';
  sealed: string;
}

interface FileBody {
  format: typeof FORMAT;
  version: 1;
  kdf: { name: 'scrypt'; salt: string; N: number; r: number; p: number };
  keys: StoredKey[];
}

/** An operator-facing problem with the key file (a ConfigError, so the CLI prints just the message). */
export class KeyFileError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export class KeyFile {
  readonly path: string;
  #body: FileBody;
  #sealKey: SecretBytes;
  #macKey: SecretBytes;
  #keys = new Map<string, SecretBytes>();

  private constructor(path: string, body: FileBody, sealKey: SecretBytes, macKey: SecretBytes) {
    this.path = path;
    this.#body = body;
    this.#sealKey = sealKey;
    this.#macKey = macKey;
  }

  /** A new, empty key file (fails if `path` exists). */
  static async create(
    path: string,
    passphrase: string,
    kdf: KdfParams = KEY_FILE_KDF,
  ): Promise<KeyFile> {
    checkPassphrase(passphrase);
    const body: FileBody = {
      format: FORMAT,
      version: 1,
      kdf: { name: 'scrypt', salt: randomBytes(16).toString('base64'), ...kdf },
      keys: [],
    };
    const [seal, mac] = await deriveKeys(passphrase, body.kdf);
    const file = new KeyFile(path, body, seal, mac);
    await file.#write('wx');
    return file;
  }

  /**
   * Open and authenticate a key file; a wrong passphrase or any edit fails here.
   * `legacyPassphrase` admits a passphrase of the old 8-character minimum (only to re-key).
   */
  static async open(
    path: string,
    passphrase: string,
    opts: { legacyPassphrase?: boolean } = {},
  ): Promise<KeyFile> {
    if (opts.legacyPassphrase === true) checkPassphrase(passphrase, LEGACY_MIN_PASSPHRASE_LENGTH);
    else checkPassphrase(passphrase, MIN_KEY_FILE_PASSPHRASE_LENGTH, true);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new KeyFileError(`cannot read key file ${path}: ${(err as Error).message}`);
    }
    const { mac, ...body } = parseBody(raw);
    try {
      checkScryptParams(body.kdf, path);
    } catch (err) {
      throw new KeyFileError((err as Error).message);
    }
    const [seal, macKey] = await deriveKeys(passphrase, body.kdf);
    const file = new KeyFile(path, body, seal, macKey);
    const want = file.#mac();
    const got = Buffer.from(mac, 'base64');
    /* Precondition: the file is as the passphrase holder wrote it. */
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      file.close();
      throw new KeyFileError(
        `key file ${path}: wrong passphrase, or the file was modified without it`,
      );
    }
    for (const k of body.keys) file.#keys.set(k.id, file.#unseal(k));
    return file;
  }

  /** The stored scrypt parameters are below KEY_FILE_KDF (`keys upgrade` re-keys the file). */
  get weakKdf(): boolean {
    const k = this.#body.kdf;
    return k.N * k.r * k.p < KEY_FILE_KDF.N * KEY_FILE_KDF.r * KEY_FILE_KDF.p;
  }

  /**
   * Re-seal every key under `passphrase` (the current one or a new one), a new salt and
   * `kdf`, and rewrite the file atomically. The key material does not change.
   */
  async rekey(passphrase: string, kdf: KdfParams = KEY_FILE_KDF): Promise<void> {
    checkPassphrase(passphrase);
    const next: FileBody['kdf'] = {
      name: 'scrypt',
      salt: randomBytes(16).toString('base64'),
      ...kdf,
    };
    const [seal, mac] = await deriveKeys(passphrase, next);
    const oldSeal = this.#sealKey;
    const oldMac = this.#macKey;
    this.#sealKey = seal;
    this.#macKey = mac;
    this.#body.kdf = next;
    for (const k of this.#body.keys) {
      k.sealed = this.#seal(k.id, (this.#keys.get(k.id) as SecretBytes).bytes);
    }
    oldSeal.zeroize();
    oldMac.zeroize();
    await this.#write('w');
  }

  list(): KeyEntry[] {
    return this.#body.keys.map(({ id, state, usage, createdAt }) => ({
      id,
      state,
      usage: [...usage],
      createdAt,
    }));
  }

  entry(id: string): KeyEntry | undefined {
    return this.list().find((k) => k.id === id);
  }

  /** The key bytes; callers must not keep them beyond the operation. */
  material(id: string): Buffer | undefined {
    return this.#keys.get(id)?.bytes;
  }

  async addKey(opts: {
    id: string;
    state?: XksKeyStatus;
    usage?: XksKeyUsage[];
    /** Import existing AES-256 material instead of generating it. */
    material?: Buffer;
  }): Promise<KeyEntry> {
    if (!KEY_ID_RE.test(opts.id)) {
      throw new KeyFileError('key id must be 1-128 characters of A-Z a-z 0-9 - . _');
    }
    if (this.#keys.has(opts.id)) throw new KeyFileError(`key ${opts.id} already exists`);
    const usage = checkUsage(opts.usage ?? ['ENCRYPT', 'DECRYPT']);
    if (opts.material !== undefined && opts.material.length !== 32) {
      throw new KeyFileError('key material must be 32 bytes (AES-256)');
    }
    const key = opts.material !== undefined ? Buffer.from(opts.material) : randomBytes(32);
    const entry: StoredKey = {
      id: opts.id,
      spec: 'AES_256',
      state: opts.state ?? 'ENABLED',
      usage,
      createdAt: new Date().toISOString(),
      sealed: this.#seal(opts.id, key),
    };
    this.#body.keys.push(entry);
    this.#keys.set(opts.id, new SecretBytes(key));
    await this.#write('w');
    return this.entry(opts.id) as KeyEntry;
  }

  async setState(id: string, state: XksKeyStatus): Promise<void> {
    this.#find(id).state = state;
    await this.#write('w');
  }

  async setUsage(id: string, usage: XksKeyUsage[]): Promise<void> {
    this.#find(id).usage = checkUsage(usage);
    await this.#write('w');
  }

  async removeKey(id: string): Promise<void> {
    this.#find(id);
    this.#body.keys = this.#body.keys.filter((k) => k.id !== id);
    this.#keys.get(id)?.zeroize();
    this.#keys.delete(id);
    await this.#write('w');
  }

  close(): void {
    for (const k of this.#keys.values()) k.zeroize();
    this.#keys.clear();
    this.#sealKey.zeroize();
    this.#macKey.zeroize();
  }

  #find(id: string): StoredKey {
    const k = this.#body.keys.find((e) => e.id === id);
    if (k === undefined) throw new KeyFileError(`no key ${id} in ${this.path}`);
    return k;
  }

  #seal(id: string, key: Buffer): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#sealKey.bytes, iv);
    c.setAAD(sealAad(id));
    const ct = Buffer.concat([c.update(key), c.final()]);
    return Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64');
  }

  #unseal(k: StoredKey): SecretBytes {
    const raw = Buffer.from(k.sealed, 'base64');
    if (raw.length !== 12 + 32 + 16) throw new KeyFileError(`key ${k.id}: bad sealed length`);
    const d = createDecipheriv('aes-256-gcm', this.#sealKey.bytes, raw.subarray(0, 12));
    d.setAAD(sealAad(k.id));
    d.setAuthTag(raw.subarray(44));
    try {
      return new SecretBytes(Buffer.concat([d.update(raw.subarray(12, 44)), d.final()]));
    } catch {
      throw new KeyFileError(`key ${k.id}: sealed material does not authenticate`);
    }
  }

  #mac(): Buffer {
    return createHmac('sha256', this.#macKey.bytes).update(JSON.stringify(this.#body)).digest();
  }

  async #write(flag: 'w' | 'wx'): Promise<void> {
    const text = JSON.stringify({ ...this.#body, mac: this.#mac().toString('base64') }, null, 2);
    if (flag === 'wx') {
      await writeFile(this.path, text + '\n', { mode: 0o600, flag: 'wx' });
      return;
    }
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, text + '\n', { mode: 0o600, flag: 'wx' });
    await rename(tmp, this.path);
  }
}

function sealAad(id: string): Buffer {
  return Buffer.from(`${FORMAT}/v1/key/${id}`, 'utf8');
}

async function deriveKeys(
  passphrase: string,
  kdf: FileBody['kdf'],
): Promise<[SecretBytes, SecretBytes]> {
  const out = await scrypt(passphrase, Buffer.from(kdf.salt, 'base64'), 64, {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    maxmem: 256 * kdf.N * kdf.r + 1024 * 1024,
  });
  const keys: [SecretBytes, SecretBytes] = [
    new SecretBytes(Buffer.from(out.subarray(0, 32))),
    new SecretBytes(Buffer.from(out.subarray(32))),
  ];
  out.fill(0);
  return keys;
}

function checkPassphrase(p: string, min = MIN_KEY_FILE_PASSPHRASE_LENGTH, opening = false): void {
  if ([...p].length < min) {
    // Opening: the file may predate the 16-character rule; say how to move it on.
    throw new KeyFileError(
      opening
        ? `the key file passphrase must be at least ${min} characters (re-key an older file: keyhold xks-proxy keys upgrade --new-passphrase-file …)`
        : `the key file passphrase must be at least ${min} characters`,
    );
  }
}

function checkUsage(usage: readonly string[]): XksKeyUsage[] {
  const bad = usage.filter((u) => !(XKS_KEY_USAGES as readonly string[]).includes(u));
  if (bad.length > 0) {
    throw new KeyFileError(
      `unknown key usage ${bad.join(',')} (one of ${XKS_KEY_USAGES.join(', ')})`,
    );
  }
  return [...new Set(usage)] as XksKeyUsage[];
}

function parseBody(raw: unknown): FileBody & { mac: string } {
  const r = raw as Partial<FileBody & { mac: string }> | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    r.format !== FORMAT ||
    r.version !== 1 ||
    typeof r.mac !== 'string' ||
    r.kdf?.name !== 'scrypt' ||
    typeof r.kdf.salt !== 'string' ||
    !Array.isArray(r.keys)
  ) {
    throw new KeyFileError(`not a ${FORMAT} v1 file`);
  }
  for (const k of r.keys) {
    if (
      typeof k?.id !== 'string' ||
      typeof k.sealed !== 'string' ||
      (k.state !== 'ENABLED' && k.state !== 'DISABLED') ||
      !Array.isArray(k.usage)
    ) {
      throw new KeyFileError(`not a ${FORMAT} v1 file (bad key entry)`);
    }
  }
  // Re-build in a fixed field order so that the MAC input does not depend on how the file
  // was pretty-printed or reordered.
  return {
    format: FORMAT,
    version: 1,
    kdf: { name: 'scrypt', salt: r.kdf.salt, N: r.kdf.N, r: r.kdf.r, p: r.kdf.p },
    keys: r.keys.map((k) => ({
      id: k.id,
      spec: 'AES_256',
      state: k.state,
      usage: k.usage,
      createdAt: String(k.createdAt),
      sealed: k.sealed,
    })),
    mac: r.mac,
  };
}
