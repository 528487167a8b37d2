// `npm run test:chaos`: the heavy proofs (crash safety under SIGKILL, PostgreSQL failover),
// compiled like every test but named *.chaos.js so that `npm test` skips them. One file at a
// time (they kill processes and start database clusters), then a short summary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const roots = process.argv.length > 2 ? process.argv.slice(2) : ['dist/test/chaos'];
const files = [];
const walk = (p) => {
  if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
  else if (p.endsWith('.chaos.js')) files.push(p);
};
roots.forEach(walk);
if (files.length === 0) {
  console.error('no chaos test files found under', roots.join(', '));
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'keyhold-chaos-summary-'));
const summary = join(dir, 'summary.txt');
const started = Date.now();
const res = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=540000', '--test-force-exit', ...files],
  { stdio: 'inherit', env: { ...process.env, KEYHOLD_CHAOS_SUMMARY: summary } },
);
let lines = '';
try {
  lines = readFileSync(summary, 'utf8');
} catch {
  lines = '(no results recorded)\n';
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `\n== chaos summary (${((Date.now() - started) / 1000).toFixed(0)} s) ==\n${lines}`,
);
process.exit(res.status ?? 1);
