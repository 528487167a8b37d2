// `npm start` on a fresh clone: install dependencies when they are missing or stale,
// then build. Uses only Node's standard library so it runs before `npm ci`.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const run = (cmd) => execSync(cmd, { stdio: 'inherit' });
const stale =
  !existsSync('node_modules/.package-lock.json') ||
  statSync('package-lock.json').mtimeMs > statSync('node_modules/.package-lock.json').mtimeMs;
if (stale) run('npm ci --no-audit --no-fund');
run('npm run build --silent');
