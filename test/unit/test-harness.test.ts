/**
 * The test runner itself (scripts/run-tests.mjs): a file whose setup fails while holding a
 * server open must fail quickly, not hang the whole suite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';

/** The runner as a user starts it: not as a child of this test run. */
function runner(file: string, extraEnv: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env['NODE_TEST_CONTEXT'];
  return spawnSync(process.execPath, ['scripts/run-tests.mjs', file], {
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
}

it('a file whose before hook fails with a server open ends promptly and fails', () => {
  const started = Date.now();
  const res = runner('test/fixtures/harness/hook-fails.test.js');
  const elapsed = Date.now() - started;
  assert.equal(res.error, undefined, `the runner hung: ${String(res.error)}`);
  assert.notEqual(res.status, 0, 'a failed hook fails the run');
  assert.match(res.stdout, /component missing: install it/);
  assert.ok(elapsed < 30_000, `ended after ${elapsed} ms`);
});

it('a file that never finishes fails after the timeout', () => {
  const started = Date.now();
  const res = runner('test/fixtures/harness/hangs.test.js', { KEYHOLD_TEST_TIMEOUT_MS: '2000' });
  assert.equal(res.error, undefined, `the runner hung: ${String(res.error)}`);
  assert.notEqual(res.status, 0);
  assert.match(res.stdout, /timed out after 2000ms/);
  assert.ok(Date.now() - started < 30_000);
});
