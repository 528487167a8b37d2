/**
 * The root key: the only secret keyhold needs from outside.
 *
 * - Passphrase (production): `KEYHOLD_ROOT_PASSPHRASE` (or a file named by
 *   `KEYHOLD_ROOT_PASSPHRASE_FILE`) → scrypt with a salt kept in the data dir. Every node
 *   given the same passphrase and salt derives the same root key.
 * - Key file (embedded default): 32 random bytes in `<dataDir>/root.key`, mode 0600,
 *   generated on first start with a loud warning that this is for development.
 *
 * The root key only wraps domain keys and derives purpose keys (secret sealing, audit
 * chain); it never leaves hsm/.
 */
import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { hkdfSync, randomBytes, scryptSync } from 'node:crypto';
import { SecretBytes } from './secret-bytes.js';

export interface RootKeySource {
  dataDir: string;
  passphrase?: string | undefined;
  /** Generate a key file when none exists (the server does; offline tools must not). */
  create?: boolean;
  /**
   * The scrypt salt for the passphrase, when it is kept in shared storage (PostgreSQL mode:
   * every node must derive the same root key); default: `root.salt` in the data dir.
   */
  salt?: Buffer | undefined;
}

export interface LoadedRootKey {
  key: SecretBytes;
  kind: 'passphrase' | 'key-file';
  /** True when this start generated a new key file. */
  created: boolean;
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export function loadRootKey(src: RootKeySource): LoadedRootKey {
  if (src.passphrase !== undefined && src.passphrase !== '') {
    const saltPath = join(src.dataDir, 'root.salt');
    if (src.salt === undefined && !existsSync(saltPath))
      writeFileSync(saltPath, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    const salt = src.salt ?? Buffer.from(readFileSync(saltPath, 'utf8').trim(), 'hex');
    const key = scryptSync(src.passphrase.normalize('NFKC'), salt, 32, SCRYPT);
    return { key: new SecretBytes(key), kind: 'passphrase', created: false };
  }
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

/** Purpose keys derived from the root key (HKDF-SHA256), each bound to its label. */
export type RootPurpose = 'domain-key-wrap' | 'secret-seal' | 'audit-chain';

export function derivePurposeKey(root: SecretBytes, purpose: RootPurpose): SecretBytes {
  const out = hkdfSync('sha256', root.bytes, Buffer.alloc(0), `keyhold/root/${purpose}/v1`, 32);
  return new SecretBytes(Buffer.from(out));
}
