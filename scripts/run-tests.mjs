// Runs every compiled test file with node's test runner. Node 20 takes directories,
// Node 22+ takes globs; an explicit file list works on both.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const roots = process.argv.length > 2 ? process.argv.slice(2) : ['dist/test'];
const files = [];
const walk = (p) => {
  if (statSync(p).isDirectory()) for (const e of readdirSync(p).sort()) walk(join(p, e));
  else if (p.endsWith('.test.js')) files.push(p);
};
roots.forEach(walk);
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
// No file can hang the run: each file (and each test in it) fails after the timeout, and
// --test-force-exit ends a file whose failed hook left a server or child running.
const timeoutMs = Number(process.env.KEYHOLD_TEST_TIMEOUT_MS ?? 600_000);
// TAP on stdout as before, and the failed tests' names to a file printed at the end.
const failuresDir = mkdtempSync(join(tmpdir(), 'keyhold-test-'));
const failuresFile = join(failuresDir, 'failures.txt');
const reporter = new URL('./test-failures-reporter.mjs', import.meta.url).href;
const res = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    `--test-timeout=${timeoutMs}`,
    '--test-force-exit',
    '--test-reporter=tap',
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    '--test-reporter-destination=stderr',
    ...files,
  ],
  {
    stdio: 'inherit',
    // The SDK's notice that its 2027 releases need Node 22 is for users, not for test output.
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...process.env,
      KEYHOLD_TEST_FAILURES_FILE: failuresFile,
    },
  },
);
let failed = '';
try {
  failed = readFileSync(failuresFile, 'utf8').trim();
} catch {
  // no file: the runner died before reporting; its status says so
}
rmSync(failuresDir, { recursive: true, force: true });
if (failed) console.log(`\n# failed tests:\n${failed.replace(/^/gm, '#   ')}`);
process.exit(res.status ?? 1);
