/**
 * The root key under an operator passphrase (production).
 *
 * The root key is 32 random bytes wrapped (AES-256-GCM) under a key-encryption key derived
 * from the passphrase with scrypt; the wrapping record keeps the scrypt parameters next to
 * the salt, so a deployment made with other parameters still opens, and raising them later
 * re-wraps the same root key: the domain keys, sealed secrets and the audit chain (all
 * keyed from the root key) stay valid.
 *
 * Older deployments derived the root key itself from the passphrase (scrypt N=2^15, the
 * salt alone in `root.salt` / kms_meta `root_salt`). They still open; once the node has
 * checked that root key against the stored domain keys, `upgrade()` wraps it under the
 * current parameters and removes the old salt.
 *
 * A wrong passphrase fails the GCM tag (RootKeyMismatchError) before anything is touched.
 */
import { randomBytes, scrypt as scryptCb } from 'node:crypto';
import { promisify } from 'node:util';
import { openGcm, sealGcm } from './aead.js';
import { RootKeyMismatchError } from './domain-keys.js';
import { SecretBytes } from './secret-bytes.js';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** Current parameters: N=2^17 (128 MiB, ~0.4 s here), r=8, p=1. */
export const ROOT_KDF: Readonly<ScryptParams> = { N: 2 ** 17, r: 8, p: 1 };
/** What deployments before the wrapped format used (root key = scrypt(passphrase, salt)). */
export const LEGACY_ROOT_KDF: Readonly<ScryptParams> = { N: 2 ** 15, r: 8, p: 1 };
/** Characters (Unicode code points after NFKC). */
export const MIN_ROOT_PASSPHRASE_LENGTH = 16;

const FORMAT = 'keyhold-root-key';

/** The root passphrase or its stored wrapping is unusable; the message says why (no secret in it). */
export class RootPassphraseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RootPassphraseError';
  }
}

/** Where the wrapping lives: files in the data dir (SQLite) or kms_meta (PostgreSQL). */
export interface RootWrapStore {
  /** For messages, e.g. the file path. */
  readonly where: string;
  readWrapped(): Promise<string | undefined>;
  /** Store `value` unless a wrapping exists; returns the one stored (first writer wins). */
  createWrapped(value: string): Promise<string>;
  replaceWrapped(value: string): Promise<void>;
  readLegacySalt(): Promise<string | undefined>;
  removeLegacySalt(): Promise<void>;
}

export interface PassphraseRootKey {
  key: SecretBytes;
  /** True when this call generated the root key (a new store). */
  created: boolean;
  /**
   * Set when the stored form is older or weaker than ROOT_KDF: re-wraps the same root key
   * under ROOT_KDF. Call it only after the key was checked against the domain keys.
   */
  upgrade?: () => Promise<ScryptParams>;
}

export function checkRootPassphrase(passphrase: string): string {
  const normalized = passphrase.normalize('NFKC');
  if ([...normalized].length < MIN_ROOT_PASSPHRASE_LENGTH) {
    throw new RootPassphraseError(
      `the root passphrase (KEYHOLD_ROOT_PASSPHRASE) must be at least ${MIN_ROOT_PASSPHRASE_LENGTH} characters`,
    );
  }
  return normalized;
}

export async function openPassphraseRootKey(
  passphrase: string,
  store: RootWrapStore,
  opts: { create: boolean; anyLength?: boolean },
): Promise<PassphraseRootKey> {
  // anyLength: a passphrase accepted before the minimum existed, to be changed (offline).
  const pass =
    opts.anyLength === true ? passphrase.normalize('NFKC') : checkRootPassphrase(passphrase);
  const stored = await store.readWrapped();
  if (stored !== undefined) {
    const opened = await openWrapped(pass, stored, store);
    // A crash between an upgrade's two steps leaves the old salt: the tag just proved the
    // passphrase, so the weak derivation can go.
    if (opened.upgrade === undefined && (await store.readLegacySalt()) !== undefined) {
      opened.upgrade = async () => {
        await store.removeLegacySalt();
        return { ...ROOT_KDF };
      };
    }
    return opened;
  }

  const legacySalt = await store.readLegacySalt();
  if (legacySalt !== undefined) {
    const key = await deriveKek(pass, Buffer.from(legacySalt.trim(), 'hex'), LEGACY_ROOT_KDF);
    return {
      key,
      created: false,
      upgrade: async () => {
        await store.createWrapped(await wrapRootKey(key.bytes, pass, ROOT_KDF));
        await store.removeLegacySalt();
        return { ...ROOT_KDF };
      },
    };
  }

  if (!opts.create) throw new RootPassphraseError(`no root key wrapping in ${store.where}`);
  const fresh = randomBytes(32);
  const record = await wrapRootKey(fresh, pass, ROOT_KDF);
  const winner = await store.createWrapped(record);
  if (winner === record) return { key: new SecretBytes(fresh), created: true };
  // Another node created the store's root key first: use that one.
  fresh.fill(0);
  return openWrapped(pass, winner, store);
}

/**
 * Re-wrap the root key under a new passphrase (and ROOT_KDF). The current passphrase may
 * be shorter than the minimum (it was accepted once); `verify` must check the opened root
 * key against the stored domain keys before anything is written. The root key itself does
 * not change, so running nodes and everything keyed from it are unaffected.
 */
export async function changeRootPassphrase(
  current: string,
  next: string,
  store: RootWrapStore,
  verify: (root: SecretBytes) => Promise<void>,
): Promise<void> {
  const nextPass = checkRootPassphrase(next);
  const opened = await openPassphraseRootKey(current, store, { create: false, anyLength: true });
  try {
    await verify(opened.key);
    await store.replaceWrapped(await wrapRootKey(opened.key.bytes, nextPass, ROOT_KDF));
    await store.removeLegacySalt();
  } finally {
    opened.key.zeroize();
  }
}

/** The wrapping record (JSON) of `root` under `passphrase` with the given parameters. */
export async function wrapRootKey(
  root: Buffer,
  passphrase: string,
  params: ScryptParams,
): Promise<string> {
  const salt = randomBytes(32);
  const kek = await deriveKek(passphrase.normalize('NFKC'), salt, params);
  try {
    const wrapped = sealGcm(kek.bytes, root, aad(params));
    return JSON.stringify({
      format: FORMAT,
      version: 1,
      kdf: { name: 'scrypt', ...pick(params), salt: salt.toString('base64') },
      wrapped: wrapped.toString('base64'),
    });
  } finally {
    kek.zeroize();
  }
}

async function openWrapped(
  pass: string,
  stored: string,
  store: RootWrapStore,
): Promise<PassphraseRootKey> {
  const rec = parseRecord(stored, store.where);
  const kek = await deriveKek(pass, rec.salt, rec.params);
  let root: Buffer;
  try {
    root = openGcm(kek.bytes, rec.wrapped, aad(rec.params));
  } catch {
    throw new RootKeyMismatchError();
  } finally {
    kek.zeroize();
  }
  const key = new SecretBytes(root);
  if (!weaker(rec.params, ROOT_KDF)) return { key, created: false };
  return {
    key,
    created: false,
    upgrade: async () => {
      await store.replaceWrapped(await wrapRootKey(key.bytes, pass, ROOT_KDF));
      return { ...ROOT_KDF };
    },
  };
}

function weaker(have: ScryptParams, want: ScryptParams): boolean {
  return have.N * have.r * have.p < want.N * want.r * want.p;
}

function aad(p: ScryptParams): Buffer {
  return Buffer.from(`${FORMAT}/v1/scrypt/${p.N}/${p.r}/${p.p}`, 'utf8');
}

function pick(p: ScryptParams): ScryptParams {
  return { N: p.N, r: p.r, p: p.p };
}

/** Bounds on stored parameters: a tampered record must not make the start allocate gigabytes. */
export function checkScryptParams(p: Partial<ScryptParams>, where: string): ScryptParams {
  const { N, r, p: par } = p;
  const ok =
    Number.isInteger(N) &&
    Number.isInteger(r) &&
    Number.isInteger(par) &&
    (N as number) >= 2 ** 10 &&
    (N as number) <= 2 ** 20 &&
    ((N as number) & ((N as number) - 1)) === 0 &&
    (r as number) >= 1 &&
    (r as number) <= 32 &&
    (par as number) >= 1 &&
    (par as number) <= 16 &&
    128 * (N as number) * (r as number) <= 1024 * 1024 * 1024;
  if (!ok) throw new RootPassphraseError(`${where}: unsupported scrypt parameters`);
  return { N: N as number, r: r as number, p: par as number };
}

function parseRecord(
  text: string,
  where: string,
): { params: ScryptParams; salt: Buffer; wrapped: Buffer } {
  let r: {
    format?: unknown;
    version?: unknown;
    kdf?: { name?: unknown; salt?: unknown } & Partial<ScryptParams>;
    wrapped?: unknown;
  };
  try {
    r = JSON.parse(text) as typeof r;
  } catch {
    throw new RootPassphraseError(`${where}: not a ${FORMAT} record`);
  }
  if (
    r === null ||
    typeof r !== 'object' ||
    r.format !== FORMAT ||
    r.version !== 1 ||
    r.kdf?.name !== 'scrypt' ||
    typeof r.kdf.salt !== 'string' ||
    typeof r.wrapped !== 'string'
  ) {
    throw new RootPassphraseError(`${where}: not a ${FORMAT} v1 record`);
  }
  return {
    params: checkScryptParams(r.kdf, where),
    salt: Buffer.from(r.kdf.salt, 'base64'),
    wrapped: Buffer.from(r.wrapped, 'base64'),
  };
}

async function deriveKek(pass: string, salt: Buffer, p: ScryptParams): Promise<SecretBytes> {
  // scrypt needs 128·N·r bytes; Node refuses above maxmem (default 32 MiB).
  const maxmem = 256 * p.N * p.r + 1024 * 1024;
  return new SecretBytes(await scrypt(pass, salt, 32, { ...pick(p), maxmem }));
}
