/**
 * The AES-GCM invocation budget over the real storage adapters (SQLite and PostgreSQL):
 * refusal at the limit, blocks reserved durably so that a crash over-counts and never
 * under-counts, exact counting under concurrency, several processes sharing one counter.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  GcmInvocationBudget,
  GcmLimitReachedError,
  type InvocationCounterStore,
} from '../../src/hsm/gcm-budget.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { PostgresStorage } from '../../src/storage/postgres/pg-storage.js';
import type { Storage } from '../../src/storage/repository.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const counterStore = (s: Storage): InvocationCounterStore => ({
  reserve: (id, n) => s.customKeyStores.reserveGcmInvocations(id, n),
});

async function takeAll(b: GcmInvocationBudget, id: string, n: number): Promise<number> {
  const results = await Promise.allSettled(Array.from({ length: n }, () => b.take(id)));
  for (const r of results)
    if (r.status === 'rejected')
      assert.ok(r.reason instanceof GcmLimitReachedError, String(r.reason));
  return results.filter((r) => r.status === 'fulfilled').length;
}

function suite(name: string, open: () => Promise<Storage>) {
  describe(`GCM invocation budget on ${name}`, () => {
    it('allows exactly `limit` encryptions per key, also when they race, and counts keys apart', async () => {
      const s = await open();
      try {
        const b = new GcmInvocationBudget(counterStore(s), { limit: 10, firstBlock: 3 });
        assert.equal(await takeAll(b, 'key-a', 25), 10);
        await assert.rejects(b.take('key-a'), GcmLimitReachedError);
        assert.equal(await takeAll(b, 'key-b', 4), 4, 'another key has its own count');
      } finally {
        await s.close();
      }
    });

    it('a new process continues after every block the old one reserved (a crash over-counts)', async () => {
      const s = await open();
      try {
        const first = new GcmInvocationBudget(counterStore(s), { limit: 10, firstBlock: 3 });
        assert.equal(await takeAll(first, 'k', 4), 4); // blocks 0-2 and 3-8 reserved (3, then 6)
        // "Crash": the old process is gone with 5 unused invocations of its block.
        const second = new GcmInvocationBudget(counterStore(s), { limit: 10, firstBlock: 3 });
        assert.equal(await takeAll(second, 'k', 10), 1, 'only 9 → 10 is left');
        await assert.rejects(second.take('k'), GcmLimitReachedError);
        // Refusals do not keep reserving: the stored count stays put.
        const before = await s.customKeyStores.reserveGcmInvocations('k', 0);
        for (let i = 0; i < 5; i++) await assert.rejects(second.take('k'), GcmLimitReachedError);
        assert.equal(await s.customKeyStores.reserveGcmInvocations('k', 0), before);
      } finally {
        await s.close();
      }
    });

    it('two processes sharing the counter never hand out more than the limit together', async () => {
      const s = await open();
      try {
        const a = new GcmInvocationBudget(counterStore(s), { limit: 50, firstBlock: 2 });
        const b = new GcmInvocationBudget(counterStore(s), { limit: 50, firstBlock: 2 });
        const [na, nb] = await Promise.all([takeAll(a, 'shared', 40), takeAll(b, 'shared', 40)]);
        assert.ok(na + nb <= 50, `${na} + ${nb} > 50`);
        assert.ok(na + nb >= 40, 'blocks lost to the other process are bounded');
      } finally {
        await s.close();
      }
    });
  });
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
suite('SQLite', async () => {
  const d = mkdtempSync(join(tmpdir(), 'keyhold-gcm-unit-'));
  dirs.push(d);
  return new SqliteStorage(join(d, 'keyhold.db'));
});

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});
let n = 0;
suite('PostgreSQL', () => PostgresStorage.open(db.url, { schema: `gcm_${process.pid}_${n++}` }));

it('KEYHOLD_GCM_INVOCATION_LIMIT: default 2^30, 1..2^32, else a clear config error', () => {
  assert.equal(loadConfig({}, {}).gcmInvocationLimit, 2 ** 30);
  assert.equal(loadConfig({}, { KEYHOLD_GCM_INVOCATION_LIMIT: '5' }).gcmInvocationLimit, 5);
  for (const v of ['0', '4294967297', '-3'])
    assert.throws(
      () => loadConfig({}, { KEYHOLD_GCM_INVOCATION_LIMIT: v }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message === 'KEYHOLD_GCM_INVOCATION_LIMIT must be from 1 to 4294967296 (2^32)',
    );
  assert.throws(() => loadConfig({}, { KEYHOLD_GCM_INVOCATION_LIMIT: 'lots' }), ConfigError);
});

it('rejects a limit outside 1..2^32', () => {
  const store: InvocationCounterStore = { reserve: async () => 0 };
  for (const limit of [0, -1, 1.5, 2 ** 32 + 1])
    assert.throws(() => new GcmInvocationBudget(store, { limit }), RangeError);
  assert.equal(new GcmInvocationBudget(store).limit, 2 ** 30);
});
