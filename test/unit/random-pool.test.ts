import assert from 'node:assert/strict';
import { it } from 'node:test';
import { RandomPool } from '../../src/hsm/random-pool.js';

it('hands out fresh bytes every call, across pool refills, and large requests too', () => {
  const pool = new RandomPool();
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const b = pool.take(32);
    assert.equal(b.length, 32);
    const hex = b.toString('hex');
    assert.ok(!seen.has(hex), 'no 32-byte value repeats');
    seen.add(hex);
  }
  const big = pool.take(10_000);
  assert.equal(big.length, 10_000);
  assert.notDeepEqual(big.subarray(0, 32), Buffer.alloc(32));
});

it('returned buffers are independent of the pool (changing one changes nothing else)', () => {
  const pool = new RandomPool();
  const a = pool.take(16);
  const copy = Buffer.from(a);
  a.fill(0);
  const b = pool.take(16);
  assert.notDeepEqual(b, Buffer.alloc(16));
  assert.notDeepEqual(copy, Buffer.alloc(16));
});
