// Installs the npm dependencies when they are missing, older than the lock file, or lack
// better-sqlite3 13 on Node >= 22: it is an optional dependency that npm skips on Node 20,
// where better-sqlite3 12 is used (src/storage/sqlite/driver.ts), so a tree installed by
// Node 20 is reinstalled once by a newer Node. Standard library only: it runs before `npm ci`.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const major = process.versions.node.split('.')[0];

/** Why the installed dependencies cannot be used as they are, or undefined when they can. */
export function depsProblem() {
  if (!existsSync('node_modules/.package-lock.json')) return 'not installed';
  if (statSync('package-lock.json').mtimeMs > statSync('node_modules/.package-lock.json').mtimeMs)
    return 'older than package-lock.json';
  if (Number(major) >= 22 && !existsSync('node_modules/better-sqlite3-13/package.json'))
    return `better-sqlite3 13 (needed on Node ${major}) is not installed`;
  return undefined;
}

/** `npm ci` when depsProblem() says so. */
export function ensureDeps({ log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  const problem = depsProblem();
  if (problem !== undefined) {
    log(`npm dependencies ${problem}: npm ci`);
    execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
  }
}
