import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoTime } from '../../src/kms/authorize.js';

describe('aws:CurrentTime (isoTime, memoized per millisecond)', () => {
  it('is toISOString for every instant, in any order', () => {
    const base = Date.UTC(2026, 11, 4, 23, 59, 59, 998);
    for (const d of [0, 0, 1, 2, 1, 0, 1000, -86_400_000, 2]) {
      const at = new Date(base + d);
      assert.equal(isoTime(at), at.toISOString());
    }
  });

  it('still refuses an invalid date', () => {
    assert.throws(() => isoTime(new Date(NaN)), RangeError);
  });
});
