/**
 * Database files hold wrapped keys, sealed secrets and the audit trail: nobody but the
 * service's user reads them, whatever the process umask. The main file is created (or
 * tightened) to 0600 before SQLite opens it; SQLite then gives its -wal, -shm and
 * -journal files the main file's mode (its unix VFS fchmods them to it), and files left
 * by an older start are tightened here too.
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

export function ensurePrivateDbFile(path: string): void {
  if (path === ':memory:' || path === '' || path.startsWith('file:')) return;
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
  for (const suffix of SIDE_FILES) {
    if (existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
  }
}
