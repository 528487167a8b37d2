/**
 * `keyhold serve --workers`: a number of workers outside 1-64 is refused (flag and
 * KEYHOLD_WORKERS), and a worker that cannot start fails the whole start with exit 1,
 * leaving no process behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAIN } from '../helpers/workers.js';

describe('keyhold serve --workers: bad settings and failed starts', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [MAIN, 'serve', ...args], {
      encoding: 'utf8',
      env: { ...process.env, KEYHOLD_LOG_LEVEL: 'warn', ...env },
      timeout: 30_000,
    });

  it('refuses a number of workers that is not 1-64, from the flag or KEYHOLD_WORKERS', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-workers-bad-'));
    try {
      for (const n of ['0', '65', 'two', '1.5']) {
        const r = run(['--port', '0', '--data-dir', dataDir, '--workers', n]);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /not a number of workers \(1-64\)/);
      }
      const env = run(['--port', '0', '--data-dir', dataDir], { KEYHOLD_WORKERS: '0' });
      assert.equal(env.status, 1);
      assert.match(env.stderr, /the number of workers must be 1-64/);
      const word = run(['--port', '0', '--data-dir', dataDir], { KEYHOLD_WORKERS: 'many' });
      assert.equal(word.status, 1);
      assert.match(word.stderr, /KEYHOLD_WORKERS must be an integer/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a worker that cannot start ends the whole start with exit 1 and leaves no process', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-workers-busy-'));
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const r = run(['--port', String(port), '--data-dir', dataDir, '--workers', '2']);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /EADDRINUSE/);
      assert.doesNotMatch(r.stdout, /keyhold listening/);
      const left = spawnSync('pgrep', ['-f', `--data-dir ${dataDir}`], { encoding: 'utf8' });
      assert.equal(left.stdout.trim(), '', 'no worker left behind');
    } finally {
      busy.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
