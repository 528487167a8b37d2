/**
 * The root key: the only secret keyhold needs from outside.
 *
 * - Passphrase (production): `KEYHOLD_ROOT_PASSPHRASE` (or a file named by
 *   `KEYHOLD_ROOT_PASSPHRASE_FILE`) → scrypt → a key that unwraps the random root key
 *   (root-passphrase.ts). The wrapping lives in `<dataDir>/root.wrapped.json`, or in shared
 *   storage in PostgreSQL mode, so every node given the passphrase opens the same root key.
 * - Key file (embedded default): 32 random bytes in `<dataDir>/root.key`, mode 0600,
 *   generated on first start with a loud warning that this is for development.
 *
 * The root key only wraps domain keys and derives purpose keys (secret sealing, audit
 * chain); it never leaves hsm/.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  chmodSync,
} from 'node:fs';
import { join } from 'node:path';
import { hkdfSync, randomBytes } from 'node:crypto';
import { SecretBytes } from './secret-bytes.js';
import { openPassphraseRootKey, type RootWrapStore, type ScryptParams } from './root-passphrase.js';

export interface RootKeySource {
  dataDir: string;
  passphrase?: string | undefined;
  /** Generate a root key when none exists (the server does; offline tools must not). */
  create?: boolean;
  /** Where the passphrase wrapping lives; default: files in the data dir. */
  store?: RootWrapStore | undefined;
}

export interface LoadedRootKey {
  key: SecretBytes;
  kind: 'passphrase' | 'key-file';
  /** True when this start generated a new root key. */
  created: boolean;
  /** Re-wrap under the current scrypt parameters (after the key was checked); see root-passphrase.ts. */
  upgrade?: (() => Promise<ScryptParams>) | undefined;
}

/** The root key from the passphrase when one is set, else from the key file. */
export async function openRootKey(src: RootKeySource): Promise<LoadedRootKey> {
  if (src.passphrase !== undefined && src.passphrase !== '') {
    const store = src.store ?? dataDirWrapStore(src.dataDir);
    const r = await openPassphraseRootKey(src.passphrase, store, { create: src.create !== false });
    return { key: r.key, kind: 'passphrase', created: r.created, upgrade: r.upgrade };
  }
  return loadRootKey(src);
}

/** The development key file `<dataDir>/root.key` (created when allowed and absent). */
export function loadRootKey(src: { dataDir: string; create?: boolean }): LoadedRootKey {
  const path = join(src.dataDir, 'root.key');
  if (existsSync(path)) {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`root key file ${path} does not hold 32 bytes`);
    return { key: new SecretBytes(key), kind: 'key-file', created: false };
  }
  if (src.create === false)
    throw new Error(`no root key: ${path} does not exist and no passphrase is set`);
  const key = randomBytes(32);
  writeFileSync(path, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { key: new SecretBytes(key), kind: 'key-file', created: true };
}

/** The wrapping as files of the data dir: `root.wrapped.json` (and the legacy `root.salt`). */
export function dataDirWrapStore(dataDir: string): RootWrapStore {
  const wrappedPath = join(dataDir, 'root.wrapped.json');
  const saltPath = join(dataDir, 'root.salt');
  const read = async (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : undefined);
  // Written to a temp file and fsynced first, so a crash never leaves half a record.
  const writeTemp = (value: string): string => {
    const tmp = `${wrappedPath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeFileSync(fd, value + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return tmp;
  };
  const syncDir = () => {
    const fd = openSync(dataDir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };
  return {
    where: wrappedPath,
    readWrapped: () => read(wrappedPath),
    async createWrapped(value) {
      const tmp = writeTemp(value);
      try {
        linkSync(tmp, wrappedPath); // fails with EEXIST: first writer wins
        syncDir();
        return value;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        return readFileSync(wrappedPath, 'utf8');
      } finally {
        unlinkSync(tmp);
      }
    },
    async replaceWrapped(value) {
      renameSync(writeTemp(value), wrappedPath);
      syncDir();
    },
    readLegacySalt: () => read(saltPath),
    async removeLegacySalt() {
      if (existsSync(saltPath)) unlinkSync(saltPath);
      syncDir();
    },
  };
}

/** Purpose keys derived from the root key (HKDF-SHA256), each bound to its label. */
export type RootPurpose = 'domain-key-wrap' | 'secret-seal' | 'audit-chain';

export function derivePurposeKey(root: SecretBytes, purpose: RootPurpose): SecretBytes {
  const out = hkdfSync('sha256', root.bytes, Buffer.alloc(0), `keyhold/root/${purpose}/v1`, 32);
  return new SecretBytes(Buffer.from(out));
}
