/**
 * The background-jobs lease between the workers of one SQLite node: two connections on one
 * keyhold.db (as two worker processes). One holds it at a time and keeps it between runs;
 * the other takes over only once it expired or was released; a restarted worker (same
 * owner id) gets its lease back at once; the domain-key writes of the jobs
 * reach the other connection through the change log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Invalidation } from '../../../src/storage/invalidation.js';
import { SqliteLeases } from '../../../src/storage/sqlite/sqlite-leases.js';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.js';

const TTL = 90_000;

function pair(clock: { t: number }) {
  const path = join(mkdtempSync(join(tmpdir(), 'keyhold-lease-')), 'keyhold.db');
  const a = new SqliteStorage(path);
  const b = new SqliteStorage(path);
  return {
    a,
    b,
    la: new SqliteLeases(a.db, () => clock.t),
    lb: new SqliteLeases(b.db, () => clock.t),
  };
}

describe('sqlite job lease', () => {
  it('one worker at a time runs the jobs; the other runs nothing while the lease lives', async () => {
    const clock = { t: 1_700_000_000_000 };
    const { la, lb, a, b } = pair(clock);
    const runs: string[] = [];
    const job = (who: string) => async () => void runs.push(who);
    assert.equal(await la.runExclusive('jobs', 'local', TTL, job('w1')), true);
    assert.equal(await lb.runExclusive('jobs', 'local-w2', TTL, job('w2')), false);
    clock.t += TTL - 1;
    assert.equal(await lb.runExclusive('jobs', 'local-w2', TTL, job('w2')), false);
    // The holder keeps (renews) it between runs.
    assert.equal(await la.runExclusive('jobs', 'local', TTL, job('w1')), true);
    clock.t += TTL - 1;
    assert.equal(await lb.runExclusive('jobs', 'local-w2', TTL, job('w2')), false);
    assert.deepEqual(runs, ['w1', 'w1']);
    assert.equal(lb.info('jobs')?.owner, 'local');
    await a.close();
    await b.close();
  });

  it('a dead holder: another worker takes over after expiry; a restart of the holder at once', async () => {
    const clock = { t: 1_700_000_000_000 };
    const { la, lb, a, b } = pair(clock);
    assert.equal(la.acquire('jobs', 'local', TTL), true);
    // Worker 1 restarted (same owner id): its lease is still its own.
    assert.equal(lb.acquire('jobs', 'local', TTL), true);
    assert.equal(lb.acquire('jobs', 'local-w2', TTL), false);
    clock.t += TTL + 1;
    assert.equal(lb.acquire('jobs', 'local-w2', TTL), true);
    assert.equal(la.acquire('jobs', 'local', TTL), false);
    // Released at a clean shutdown: the other takes it at once.
    lb.release('jobs', 'local-w2');
    assert.equal(la.acquire('jobs', 'local', TTL), true);
    // A release by a non-holder changes nothing.
    lb.release('jobs', 'local-w2');
    assert.equal(lb.acquire('jobs', 'local-w2', TTL), false);
    await a.close();
    await b.close();
  });

  it('a new domain key and a dropped one are announced to other processes', async () => {
    const clock = { t: 1_700_000_000_000 };
    const { a, b } = pair(clock);
    const seen: Invalidation[] = [];
    b.changes.subscribe((m) => seen.push(m));
    const at = new Date(clock.t);
    await a.addActiveDomainKey({
      id: 'dk-1',
      wrapped: Buffer.alloc(60, 1),
      createdAt: at,
      active: true,
    });
    b.changes.catchUp();
    assert.deepEqual(seen, [{ kind: 'domain-keys' }]);
    await a.addActiveDomainKey({
      id: 'dk-2',
      wrapped: Buffer.alloc(60, 2),
      createdAt: at,
      active: true,
    });
    await a.deleteDomainKey('dk-1');
    // Deleting the active key or an unknown one changes nothing and announces nothing.
    await a.deleteDomainKey('dk-2');
    await a.deleteDomainKey('dk-none');
    seen.length = 0;
    b.changes.catchUp();
    assert.deepEqual(seen, [{ kind: 'domain-keys' }, { kind: 'domain-keys' }]);
    await a.close();
    await b.close();
  });
});
