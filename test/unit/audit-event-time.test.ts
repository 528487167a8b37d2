import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatEventTime } from '../../src/audit/event.js';

describe('formatEventTime (memoized per second)', () => {
  it('gives toISOString to the second for every instant, in any order', () => {
    const base = Date.UTC(2026, 11, 4, 19, 59, 58, 0);
    const instants = [0, 1, 999, 1000, 1001, 1999, 2000, 999, 0, 86_400_000, -1, 1000].map(
      (d) => base + d,
    );
    for (const ms of instants) {
      const d = new Date(ms);
      assert.equal(formatEventTime(d), d.toISOString().slice(0, 19) + 'Z');
    }
  });

  it('still refuses an invalid date', () => {
    assert.throws(() => formatEventTime(new Date(NaN)), RangeError);
  });
});
