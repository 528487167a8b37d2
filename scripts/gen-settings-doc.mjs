#!/usr/bin/env node
/**
 * Writes the settings tables into the docs from the settings tables in the code (run after
 * `tsc`, which it imports from dist/): README.md's `keyhold serve` table
 * (src/config/settings.ts) and docs/xks-proxy.md's `keyhold xks-proxy` table
 * (src/xks-proxy/settings.ts), each between `<!-- settings:NAME -->` and
 * `<!-- /settings:NAME -->`. `--check` writes nothing and exits 1 when a doc is behind
 * (test/unit/settings.test.ts checks the same).
 *
 *   npx tsc -p tsconfig.json && node scripts/gen-settings-doc.mjs [--check]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const built = (...p) => join(repo, 'dist', 'src', ...p);
if (!existsSync(built('config', 'settings-doc.js'))) {
  process.stderr.write('gen-settings-doc: build first (npx tsc -p tsconfig.json)\n');
  process.exit(1);
}
const doc = await import(pathToFileURL(built('config', 'settings-doc.js')).href);
const xks = await import(pathToFileURL(built('xks-proxy', 'settings-doc.js')).href);
const check = process.argv.includes('--check');

let behind = 0;
for (const [file, name, body] of [
  ['README.md', 'keyhold', doc.keyholdSettingsMarkdown()],
  [join('docs', 'xks-proxy.md'), 'xks-proxy', xks.xksSettingsMarkdown()],
]) {
  const path = join(repo, file);
  const before = readFileSync(path, 'utf8');
  const after = doc.replaceMarked(before, name, body);
  if (after === before) continue;
  behind++;
  if (check) process.stderr.write(`gen-settings-doc: ${file} is behind the settings table\n`);
  else {
    writeFileSync(path, after);
    process.stdout.write(`gen-settings-doc: wrote ${file}\n`);
  }
}
process.exit(check && behind > 0 ? 1 : 0);
