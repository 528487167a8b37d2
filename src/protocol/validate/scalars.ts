/**
 * Parsers of scalar shapes: string (length in code points, pattern, enum), blob (strict base64),
 * boolean, the number types and timestamp. Each also tells containers whether a converted value
 * satisfies its constraints (`ok`) and how to word them (`constraintList`).
 */
import { awsEnumOrder } from '../enum-order.js';
import type { ModelShape } from '../model/kms-model.js';
import { compileJavaPattern } from './java-regex.js';
import type { Node, Parse } from './node.js';
import {
  ENUM,
  MAX_LEN,
  MAX_VAL,
  MIN_LEN,
  MIN_VAL,
  PATTERN,
  joinPath,
  notScalar,
  pushError,
  serialization,
  show,
  token,
} from './report.js';

function constraintList(
  shape: ModelShape,
  kind: 'length' | 'value',
  name = '',
): string | undefined {
  const parts: string[] = [];
  if (shape.max !== undefined)
    parts.push(kind === 'length' ? MAX_LEN(shape.max) : MAX_VAL(shape.max));
  if (shape.min !== undefined)
    parts.push(kind === 'length' ? MIN_LEN(shape.min) : MIN_VAL(shape.min));
  if (shape.pattern !== undefined) parts.push(PATTERN(shape.pattern));
  if (shape.enum !== undefined) parts.push(ENUM(awsEnumOrder(name, shape.enum)));
  return parts.length === 0 ? undefined : parts.join(', ');
}

/** Unicode code points of a string (UTF-16 length minus surrogate pairs). */
function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** Code-point length, computed only when the UTF-16 length cannot decide against min/max. */
function stringLength(s: string, min: number, max: number): number {
  const len = s.length;
  // code points are within [ceil(len/2), len]
  if (len <= max && (len + 1) >> 1 >= min) return len;
  return codePointLength(s);
}

export function buildString(name: string, shape: ModelShape): Node {
  const { min, max, pattern, sensitive } = shape;
  const lo = min ?? 0;
  const hi = max ?? Number.MAX_SAFE_INTEGER;
  const hasLen = min !== undefined || max !== undefined;
  const re = pattern !== undefined ? compileJavaPattern(pattern) : undefined;
  const enumSet = shape.enum !== undefined ? new Set(shape.enum) : undefined;
  const minMsg = min !== undefined ? MIN_LEN(min) : '';
  const maxMsg = max !== undefined ? MAX_LEN(max) : '';
  const patMsg = pattern !== undefined ? PATTERN(pattern) : '';
  const enumMsg = shape.enum !== undefined ? ENUM(awsEnumOrder(name, shape.enum)) : '';
  const constrained = hasLen || re !== undefined || enumSet !== undefined;

  const ok = (s: unknown): boolean => {
    if (typeof s !== 'string') return false;
    if (re !== undefined && !re.test(s)) return false;
    if (hasLen) {
      const n = stringLength(s, lo, hi);
      if (n < lo || n > hi) return false;
    }
    return enumSet === undefined || enumSet.has(s);
  };

  const parse: Parse = (v, prefix, seg) => {
    if (typeof v !== 'string') {
      if (typeof v === 'object' && v !== null) notScalar(v);
      serialization(`${token(v)} can not be converted to a String`);
    }
    if (!constrained) return v;
    if (re !== undefined && !re.test(v)) {
      pushError(sensitive ? undefined : show(v), joinPath(prefix, seg), patMsg);
    }
    if (hasLen) {
      const n = stringLength(v, lo, hi);
      if (n < lo) pushError(sensitive ? undefined : show(v), joinPath(prefix, seg), minMsg);
      else if (n > hi) pushError(sensitive ? undefined : show(v), joinPath(prefix, seg), maxMsg);
    }
    if (enumSet !== undefined && !enumSet.has(v)) {
      pushError(sensitive ? undefined : show(v), joinPath(prefix, seg), enumMsg);
    }
    return v;
  };
  return {
    parse,
    ok: constrained ? ok : undefined,
    constraintList: constraintList(shape, 'length', name),
    identity: true,
  };
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Strict standard base64 (padded), worded like Coral's decoder; never echoes the input. */
function decodeBase64(s: string): Buffer {
  const prefix = 'STRING_VALUE can not be converted to a Blob: ';
  if (s.length % 4 !== 0) {
    serialization(
      `${prefix}Base64 encoded length is expected a multiple of 4 bytes but found: ${s.length}`,
    );
  }
  if (!BASE64_RE.test(s)) serialization(`${prefix}Invalid Base64 character`);
  if (s.length === 0) return Buffer.alloc(0);
  // The unused low bits of the last data character must be zero (canonical encoding).
  const pads = s.charCodeAt(s.length - 1) !== 61 ? 0 : s.charCodeAt(s.length - 2) !== 61 ? 1 : 2;
  if (pads > 0) {
    const last = BASE64_CHARS.indexOf(s[s.length - 1 - pads]!);
    if ((pads === 1 && (last & 0x3) !== 0) || (pads === 2 && (last & 0xf) !== 0)) {
      serialization(`${prefix}Invalid last non-pad Base64 character dectected`);
    }
  }
  return Buffer.from(s, 'base64');
}

export function buildBlob(shape: ModelShape): Node {
  const { min, max, sensitive } = shape;
  const lo = min ?? 0;
  const hi = max ?? Number.MAX_SAFE_INTEGER;
  const minMsg = min !== undefined ? MIN_LEN(min) : '';
  const maxMsg = max !== undefined ? MAX_LEN(max) : '';
  const parse: Parse = (v, prefix, seg) => {
    if (typeof v !== 'string') {
      if (typeof v === 'object' && v !== null) notScalar(v);
      serialization(`${token(v)} can not be converted to a Blob`);
    }
    const buf = decodeBase64(v);
    if (buf.length < lo)
      pushError(sensitive ? undefined : show(buf), joinPath(prefix, seg), minMsg);
    else if (buf.length > hi) {
      pushError(sensitive ? undefined : show(buf), joinPath(prefix, seg), maxMsg);
    }
    return buf;
  };
  return {
    parse,
    ok: (b) => Buffer.isBuffer(b) && b.length >= lo && b.length <= hi,
    constraintList: constraintList(shape, 'length'),
    identity: false,
  };
}

export function buildBoolean(_shape: ModelShape): Node {
  const parse: Parse = (v) => {
    if (typeof v !== 'boolean') {
      if (typeof v === 'object' && v !== null) notScalar(v);
      serialization(`${token(v)} can not be converted to a Boolean`);
    }
    return v;
  };
  return { parse, identity: true };
}

export function buildNumber(shape: ModelShape): Node {
  const integral = shape.type === 'integer' || shape.type === 'long';
  const typeName =
    shape.type === 'integer'
      ? 'an Integer'
      : shape.type === 'long'
        ? 'a Long'
        : shape.type === 'float'
          ? 'a Float'
          : 'a Double';
  const [tmin, tmax] =
    shape.type === 'integer'
      ? [-2147483648, 2147483647]
      : shape.type === 'long'
        ? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]
        : [-Number.MAX_VALUE, Number.MAX_VALUE];
  const { min, max, sensitive } = shape;
  const minMsg = min !== undefined ? MIN_VAL(min) : '';
  const maxMsg = max !== undefined ? MAX_VAL(max) : '';
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  const parse: Parse = (v, prefix, seg) => {
    if (typeof v !== 'number') {
      if (typeof v === 'object' && v !== null) notScalar(v);
      serialization(`${token(v)} can not be converted to ${typeName}`);
    }
    if (integral && !Number.isInteger(v)) {
      serialization(`DECIMAL_VALUE can not be converted to ${typeName}`);
    }
    if (!(v >= tmin && v <= tmax))
      serialization(`NUMBER_VALUE can not be converted to ${typeName}`);
    if (v < lo) pushError(sensitive ? undefined : show(v), joinPath(prefix, seg), minMsg);
    else if (v > hi) pushError(sensitive ? undefined : show(v), joinPath(prefix, seg), maxMsg);
    return v;
  };
  const constrained = min !== undefined || max !== undefined;
  return {
    parse,
    ok: constrained ? (n) => typeof n === 'number' && n >= lo && n <= hi : undefined,
    constraintList: constraintList(shape, 'value'),
    identity: true,
  };
}

/** Epoch seconds (possibly fractional), or an ISO-8601 / RFC-3339 string. */
export function buildTimestamp(_shape: ModelShape): Node {
  const parse: Parse = (v) => {
    let ms: number;
    if (typeof v === 'number') ms = v * 1000;
    else if (typeof v === 'string') {
      const t = v.trim();
      ms = /^-?\d+(\.\d+)?$/.test(t) ? Number(t) * 1000 : Date.parse(t);
    } else {
      if (typeof v === 'object' && v !== null) notScalar(v);
      serialization(`${token(v)} can not be converted to a Timestamp`);
    }
    const d = new Date(ms);
    if (Number.isNaN(d.getTime())) serialization(`${token(v)} can not be converted to a Timestamp`);
    return d;
  };
  return { parse, identity: false };
}
