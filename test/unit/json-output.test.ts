/**
 * encodeOutput (the copy-then-stringify encoder) gives byte for byte what the previous
 * replacer-based encoder gives, on random output shapes and on the edge cases.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeOutput, encodeOutputWithReplacer } from '../../src/protocol/json.js';

const leaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 8, maxLength: 64 }).map((u) => u.subarray(3, 7)),
  fc.date({ noInvalidDate: true }),
);

const shape = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }),
  object: fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 6 }),
}));

describe('encodeOutput', () => {
  it('matches the replacer encoding on random shapes', () => {
    fc.assert(
      fc.property(shape.object, (o) => {
        assert.equal(encodeOutput(o), encodeOutputWithReplacer(o));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches on the edge cases', () => {
    class Thing {
      a = Buffer.from('x');
    }
    const cases: unknown[] = [
      undefined,
      null,
      {},
      Buffer.from('hello'),
      new Date(1_700_000_000_123),
      { KeyId: 'k', CiphertextBlob: Buffer.alloc(1024, 7), Plaintext: new Uint8Array(3) },
      { Numbers: { 2: 'b', 1: 'a', x: 'c' }, Arr: [undefined, () => 1, Buffer.from('a')] },
      { withToJSON: { toJSON: () => ({ b: Buffer.from('zz') }) } },
      { cls: new Thing() },
      { map: new Map([['a', 1]]), boxed: Object('s') as unknown },
      JSON.parse('{"__proto__": {"a": 1}, "b": 2}') as unknown,
      { nullProto: Object.assign(Object.create(null) as object, { a: Buffer.from('q') }) },
      { n: [NaN, Infinity, -0] },
    ];
    for (const c of cases) assert.equal(encodeOutput(c), encodeOutputWithReplacer(c));
  });

  it('throws as before on a cycle', () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    assert.throws(() => encodeOutput(o), TypeError);
  });
});
