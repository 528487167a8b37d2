/**
 * AWS JSON 1.1 output encoding: blobs as standard base64 strings, timestamps as epoch
 * seconds (numbers), undefined members omitted.
 *
 * The output is first copied into its wire form (blobs and dates replaced, members in the
 * same order) and then given to JSON.stringify without a replacer: a replacer is a call
 * into JavaScript for every member, and a Buffer reached JSON.stringify's own `toJSON`
 * first, which built an array of every byte before the replacer threw it away. A value
 * the copy does not know (an object with a `toJSON` of its own, a class instance) makes
 * it give up, and the replacer path encodes that output exactly as before.
 */

/** Not encodable by the copy: use the replacer path. */
const GIVE_UP = Symbol('give up');

function wire(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array)
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof Date) return v.getTime() / 1000;
  // Deep or cyclic shapes: JSON.stringify's own checks and errors, on the replacer path.
  if (depth > 64) return GIVE_UP;
  if (Array.isArray(v)) {
    const out: unknown[] = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const w = wire(v[i], depth + 1);
      if (w === GIVE_UP) return GIVE_UP;
      out[i] = w;
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return GIVE_UP;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return GIVE_UP;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    // An own "__proto__" member would set the copy's prototype instead of a member.
    if (k === '__proto__') return GIVE_UP;
    const w = wire((v as Record<string, unknown>)[k], depth + 1);
    if (w === GIVE_UP) return GIVE_UP;
    out[k] = w;
  }
  return out;
}

/** The previous encoding, kept for what the copy gives up on (and as the tests' reference). */
export function encodeOutputWithReplacer(output: unknown): string {
  return JSON.stringify(
    output ?? {},
    function (this: Record<string, unknown>, key, value: unknown) {
      const raw = this[key];
      if (raw instanceof Uint8Array)
        return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
      if (raw instanceof Date) return raw.getTime() / 1000;
      return value;
    },
  );
}

export function encodeOutput(output: unknown): string {
  const w = wire(output ?? {}, 0);
  return w === GIVE_UP ? encodeOutputWithReplacer(output) : JSON.stringify(w);
}
