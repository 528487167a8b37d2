import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';

/** Licenses compatible with distributing keyhold under Apache-2.0. */
const ALLOWED = new Set([
  'MIT',
  'ISC',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'CC0-1.0',
  'Unlicense',
  'Python-2.0',
  'CC-BY-4.0',
]);

it('every runtime dependency (transitively) has an Apache-2.0-compatible license', () => {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean; license?: string }>;
  };
  const bad: string[] = [];
  let checked = 0;
  for (const [path, pkg] of Object.entries(lock.packages)) {
    if (path === '' || pkg.dev === true || pkg.devOptional === true) continue;
    const license =
      pkg.license ??
      (JSON.parse(readFileSync(`${path}/package.json`, 'utf8')) as { license?: string }).license;
    checked++;
    const ids = (license ?? 'UNKNOWN').replace(/[()]/g, '').split(/\s+OR\s+/);
    if (!ids.some((id) => ALLOWED.has(id.trim()))) bad.push(`${path}: ${license}`);
  }
  assert.ok(checked > 5, 'runtime dependencies were found');
  assert.deepEqual(bad, []);
});

it('the project itself is Apache-2.0 with a LICENSE file', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { license: string };
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match(readFileSync('LICENSE', 'utf8'), /Apache License\s+Version 2\.0/);
});
