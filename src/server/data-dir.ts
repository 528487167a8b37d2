/**
 * The data directory holds the database files, the root key file or its passphrase
 * wrapping, and the node id. It must be private to the service's user: created 0700, and
 * a looser existing directory is tightened (logged) — or, when this user may not change
 * it (another owner), the start is refused with a ConfigError naming the mode.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { ConfigError } from '../config/config.js';

export interface PrivateDirResult {
  /** The mode the directory had when it was looser than 0700 (then it was tightened). */
  tightenedFrom?: number;
}

export function ensurePrivateDataDir(dir: string): PrivateDirResult {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new ConfigError(`data directory ${dir} is not a directory`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0) return {};
  try {
    chmodSync(dir, 0o700);
  } catch (err) {
    throw new ConfigError(
      `data directory ${dir} is mode ${octal(mode)} and cannot be tightened to 0700 ` +
        `(${(err as NodeJS.ErrnoException).code ?? 'error'}); make it private to the keyhold user`,
    );
  }
  return { tightenedFrom: mode };
}

export function octal(mode: number): string {
  return '0' + (mode & 0o777).toString(8).padStart(3, '0');
}
