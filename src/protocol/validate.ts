/**
 * Model-driven request deserialization and validation (AWS JSON 1.1 → typed input).
 *
 * `parseInput(op, body)` turns the JSON-parsed body into the operation's input: blobs are
 * base64-decoded into Buffers, timestamps become Dates, unknown members are dropped. Wrong JSON
 * types fail fast with SerializationException; constraint violations (required, length, range,
 * pattern, enum) are all collected and reported as one ValidationException in AWS Coral form.
 *
 * Per-shape parsers are compiled once from the generated model (src/protocol/model/kms-model.ts)
 * into closures; a request allocates only its output objects (and error strings on failure).
 *
 * Wire-behaviour decisions (AWS Coral; sources: real error messages quoted in public issues,
 * emulators that probed AWS — local-kms, dynalite/kinesalite, athena-local, floci):
 * - Validation message: `N validation error(s) detected: Value '<v>' at '<path>' failed to satisfy
 *   constraint: <msg>` joined with `; `. All violations are kept (no 10-error cap).
 * - Paths: camelCase member names joined by `.`; list items `tags.1.member.tagKey` (1-based);
 *   map values of structure type `<map>.<key>.<member>`.
 * - Sensitive shapes (e.g. Plaintext) print `Value at 'plaintext' ...` (observed from real KMS):
 *   the value is never echoed, not even as null when missing. Other missing members print
 *   `Value null at ...`.
 * - Blob values print like Java's ByteBuffer, as KMS does:
 *   `Value 'java.nio.HeapByteBuffer[pos=0 lim=0 cap=0]' at 'ciphertextBlob'`.
 * - Numbers/booleans print as `'5000'`/`'true'`; lists as Java `[a, b]`, maps as `{k=v}`;
 *   every printed value is echoed whole, as AWS does (a 300-character tag value appears in
 *   full; request bodies are capped at 1 MiB, so the message is bounded).
 * - Enum value sets are listed in AWS's own order (enum-order.ts), not always botocore's.
 * - Per member the individual errors come in the order pattern, length, range, enum (an observed
 *   AWS multi-error message lists pattern before length).
 * - A list of scalars whose items violate constraints gives ONE error at the list path:
 *   `Value '[a, b]' at 'grantTokens' failed to satisfy constraint: Member must satisfy constraint:
 *   [<all item constraints>]`; map keys/values likewise `Map keys must satisfy constraint: [...]` /
 *   `Map value must satisfy constraint: [...]`. Lists of constraints are ordered max, min,
 *   pattern, enum (as in observed AWS messages).
 * - String length counts Unicode code points (Smithy semantics, probe-confirmed on another AWS
 *   JSON service); blob length counts bytes; list/map length counts entries.
 * - JSON null members are treated as absent; null list items and map values are dropped.
 * - SerializationException wording follows AWS Coral (athena-local measurements, 2026):
 *   `NUMBER_VALUE can not be converted to a String`, `STRING_VALUE can not be converted to an
 *   Integer`, `STRING_VALUE can not be converted to a Boolean` (booleans accept only JSON
 *   true/false), `DECIMAL_VALUE can not be converted to an Integer` (our wording: Athena sends
 *   no message for it), `Start of list found where not expected`, `Start of structure or map
 *   found where not expected.`, `Expected list or null`, `Expected map or null`, `Expected null` (scalar
 *   where a structure is expected). Invalid base64 never echoes the value:
 *   `STRING_VALUE can not be converted to a Blob: <reason>`, reasons as Coral words them
 *   (`Base64 encoded length is expected a multiple of 4 bytes but found: N`, ...).
 * - An absent body (undefined) or JSON `null` is an empty input (servers MUST accept an empty
 *   body); any other non-object body is a SerializationException.
 * - Patterns are Java regexes with `matches()` semantics: compiled as `^(?:p)$` with the `u` flag
 *   (falling back to no flag if needed); Java's ASCII `\s`/`\S` are translated explicitly.
 */
import { awsEnumOrder } from './enum-order.js';
import { kmsError } from '../errors/aws-errors.js';
import { KMS_MODEL, type ModelShape } from './model/kms-model.js';

/** The operation names of the model (54, sorted). */
export const OPERATION_NAMES: readonly string[] = Object.freeze(Object.keys(KMS_MODEL.operations));

const OPERATION_SET: ReadonlySet<string> = new Set(OPERATION_NAMES);

/** True when `name` is a KMS operation of the model. */
export function isOperationName(name: string): boolean {
  return OPERATION_SET.has(name);
}

// ---------------------------------------------------------------------------------------------
// Error collection (parseInput is synchronous and non-reentrant: one module-level collector)

let errors: string[] | null = null;

function pushError(repr: string | null | undefined, path: string, constraint: string): void {
  // repr: undefined → sensitive (value omitted), null → JSON null, string → printed value
  const value = repr === undefined ? 'Value' : repr === null ? 'Value null' : `Value '${repr}'`;
  const msg = `${value} at '${path}' failed to satisfy constraint: ${constraint}`;
  if (errors === null) errors = [msg];
  else errors.push(msg);
}

/** Returns and clears the collected errors (a function, so TS does not narrow `errors`). */
function takeErrors(): string[] | null {
  const list = errors;
  errors = null;
  return list;
}

function serialization(message: string): never {
  throw kmsError('SerializationException', message);
}

function joinPath(prefix: string, seg: string): string {
  return prefix + seg;
}

/** Java-ish toString of a deserialized value, whole (AWS echoes long values in full). */
function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return 'null';
  if (Buffer.isBuffer(v)) return `java.nio.HeapByteBuffer[pos=0 lim=${v.length} cap=${v.length}]`;
  if (v instanceof Date) return v.toISOString();
  let out = '';
  if (Array.isArray(v)) {
    out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ', ';
      out += show(v[i]);
    }
    return `${out}]`;
  }
  out = '{';
  let first = true;
  for (const k of Object.keys(v as object)) {
    if (!first) out += ', ';
    first = false;
    out += `${k}=${show((v as Record<string, unknown>)[k])}`;
  }
  return `${out}}`;
}

/** AWS Coral's name for the JSON token found where another type was expected. */
function token(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return 'STRING_VALUE';
    case 'number':
      return 'NUMBER_VALUE';
    case 'boolean':
      return v ? 'TRUE_VALUE' : 'FALSE_VALUE';
    default:
      return 'UNKNOWN_VALUE';
  }
}

/** Scalar expected, container found: Coral's "Start of ... found where not expected". */
function notScalar(v: object): never {
  if (Array.isArray(v)) serialization('Start of list found where not expected');
  serialization('Start of structure or map found where not expected.');
}

// ---------------------------------------------------------------------------------------------
// Java regex → JS RegExp

const regexCache = new Map<string, RegExp>();

const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';

/** Translate the Java-only bits we may meet (`\s`/`\S` are ASCII-only in Java) and anchor. */
function translateJavaRegex(p: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\' && i + 1 < p.length) {
      const n = p[i + 1];
      i++;
      if (n === 's') out += inClass ? JAVA_SPACE : `[${JAVA_SPACE}]`;
      else if (n === 'S' && !inClass) out += `[^${JAVA_SPACE}]`;
      else out += `\\${n}`;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return `^(?:${out})$`;
}

export function compileJavaPattern(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    const src = translateJavaRegex(pattern);
    try {
      re = new RegExp(src, 'u');
    } catch {
      re = new RegExp(src);
    }
    regexCache.set(pattern, re);
  }
  return re;
}

// ---------------------------------------------------------------------------------------------
// Compiled parsers

/**
 * Parses one non-null JSON value of a shape. `prefix` is the parent path including its trailing
 * dot, `seg` the camelCase segment of this value; they are only joined when reporting an error.
 * Returns the converted value; records validation errors; throws SerializationException.
 */
type Parse = (v: unknown, prefix: string, seg: string) => unknown;

interface Node {
  parse: Parse;
  /** Scalars only: whether a converted value satisfies all constraints (list items, map keys). */
  ok?: (v: unknown) => boolean;
  /** Scalars only: the constraint list used in "Member must satisfy constraint: [...]". */
  constraintList?: string;
  /** The parser needs no conversion (string/boolean/number): containers may keep their input. */
  identity: boolean;
}

const nodes = new Map<string, Node>();

function shapeOf(name: string): ModelShape {
  const s = KMS_MODEL.shapes[name];
  if (s === undefined) throw new Error(`KMS model: unknown shape ${name}`);
  return s;
}

function lowerFirst(s: string): string {
  return s.length === 0 ? s : s[0]!.toLowerCase() + s.slice(1);
}

function compile(name: string): Node {
  const existing = nodes.get(name);
  if (existing !== undefined) return existing;
  const shape = shapeOf(name);
  // Register a forwarding node first so recursive shapes terminate.
  const forward: Node = {
    parse: (v, p, s) => target.parse(v, p, s),
    identity: false,
  };
  nodes.set(name, forward);
  const target = build(name, shape);
  nodes.set(name, target);
  Object.assign(forward, target);
  return target;
}

function build(name: string, shape: ModelShape): Node {
  switch (shape.type) {
    case 'structure':
      return buildStructure(shape);
    case 'list':
      return buildList(shape);
    case 'map':
      return buildMap(shape);
    case 'string':
      return buildString(name, shape);
    case 'blob':
      return buildBlob(shape);
    case 'boolean':
      return buildBoolean(shape);
    case 'integer':
    case 'long':
    case 'float':
    case 'double':
      return buildNumber(shape);
    case 'timestamp':
      return buildTimestamp(shape);
  }
}

// --- scalars -----------------------------------------------------------------------------------

const MIN_LEN = (n: number): string => `Member must have length greater than or equal to ${n}`;
const MAX_LEN = (n: number): string => `Member must have length less than or equal to ${n}`;
const MIN_VAL = (n: number): string => `Member must have value greater than or equal to ${n}`;
const MAX_VAL = (n: number): string => `Member must have value less than or equal to ${n}`;
const PATTERN = (p: string): string => `Member must satisfy regular expression pattern: ${p}`;
const ENUM = (e: readonly string[]): string =>
  `Member must satisfy enum value set: [${e.join(', ')}]`;

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

function buildString(name: string, shape: ModelShape): Node {
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

function buildBlob(shape: ModelShape): Node {
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

function buildBoolean(_shape: ModelShape): Node {
  const parse: Parse = (v) => {
    if (typeof v !== 'boolean') {
      if (typeof v === 'object' && v !== null) notScalar(v);
      serialization(`${token(v)} can not be converted to a Boolean`);
    }
    return v;
  };
  return { parse, identity: true };
}

function buildNumber(shape: ModelShape): Node {
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
function buildTimestamp(_shape: ModelShape): Node {
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

// --- containers --------------------------------------------------------------------------------

interface MemberSpec {
  name: string;
  seg: string;
  node: Node;
  required: boolean;
  /** AWS hides a sensitive member's value even when it is missing: `Value at 'plaintext'`. */
  sensitive: boolean;
}

function buildStructure(shape: ModelShape): Node {
  const required = new Set(shape.required ?? []);
  const members: MemberSpec[] = [];
  for (const [name, target] of Object.entries(shape.members ?? {})) {
    members.push({
      name,
      seg: lowerFirst(name),
      node: compile(target),
      required: required.has(name),
      sensitive: shapeOf(target).sensitive === true,
    });
  }
  const count = members.length;
  const parse: Parse = (v, prefix, seg) => {
    if (typeof v !== 'object' || v === null) serialization('Expected null');
    if (Array.isArray(v)) serialization('Start of list found where not expected');
    const obj = v as Record<string, unknown>;
    const childPrefix = seg === '' ? prefix : `${prefix}${seg}.`;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const m = members[i]!;
      const raw = obj[m.name];
      if (raw === undefined || raw === null) {
        if (m.required)
          pushError(m.sensitive ? undefined : null, childPrefix + m.seg, 'Member must not be null');
        continue;
      }
      out[m.name] = m.node.parse(raw, childPrefix, m.seg);
    }
    return out;
  };
  return { parse, identity: false };
}

function buildList(shape: ModelShape): Node {
  const item = compile(shape.member!);
  const { min, max, sensitive } = shape;
  const lo = min ?? 0;
  const hi = max ?? Number.MAX_SAFE_INTEGER;
  const minMsg = min !== undefined ? MIN_LEN(min) : '';
  const maxMsg = max !== undefined ? MAX_LEN(max) : '';
  // Scalar items are checked together: one "Member must satisfy constraint: [...]" per list.
  const itemOk = item.ok;
  const itemMsg = `Member must satisfy constraint: [${item.constraintList ?? ''}]`;
  const itemSensitive = shapeOf(shape.member!).sensitive === true;
  const scalarItems = item.ok !== undefined || item.identity;
  const parse: Parse = (v, prefix, seg) => {
    if (!Array.isArray(v)) {
      if (typeof v === 'object' && v !== null) {
        serialization('Start of structure or map found where not expected.');
      }
      serialization('Expected list or null');
    }
    let out: unknown[];
    if (scalarItems) {
      // Parse items for their type checks only; collect item violations into one error.
      let hasNull = false;
      let converted: unknown[] | null = item.identity ? null : new Array<unknown>();
      for (let i = 0; i < v.length; i++) {
        const raw: unknown = v[i];
        if (raw === null || raw === undefined) {
          hasNull = true;
          continue;
        }
        // item-level errors are dropped: the list-level error below replaces them
        const saved = errors;
        errors = null;
        const x = item.parse(raw, '', '');
        errors = saved;
        if (converted !== null) converted.push(x);
      }
      if (converted === null) converted = hasNull ? v.filter((x) => x !== null) : v;
      out = converted;
      if (itemOk !== undefined) {
        for (let i = 0; i < out.length; i++) {
          if (!itemOk(out[i])) {
            pushError(sensitive || itemSensitive ? undefined : show(out), prefix + seg, itemMsg);
            break;
          }
        }
      }
    } else {
      out = [];
      const itemPrefix = `${prefix}${seg}.`;
      for (let i = 0; i < v.length; i++) {
        const raw: unknown = v[i];
        if (raw === null || raw === undefined) continue;
        out.push(item.parse(raw, itemPrefix, `${out.length + 1}.member`));
      }
    }
    if (out.length < lo) pushError(sensitive ? undefined : show(out), prefix + seg, minMsg);
    else if (out.length > hi) pushError(sensitive ? undefined : show(out), prefix + seg, maxMsg);
    return out;
  };
  return { parse, identity: false };
}

function buildMap(shape: ModelShape): Node {
  const keyNode = compile(shape.key!);
  const valueNode = compile(shape.value!);
  const { min, max, sensitive } = shape;
  const lo = min ?? 0;
  const hi = max ?? Number.MAX_SAFE_INTEGER;
  const minMsg = min !== undefined ? MIN_LEN(min) : '';
  const maxMsg = max !== undefined ? MAX_LEN(max) : '';
  const keyOk = keyNode.ok;
  const keyMsg = `Map keys must satisfy constraint: [${keyNode.constraintList ?? ''}]`;
  const valueOk = valueNode.ok;
  const valueMsg = `Map value must satisfy constraint: [${valueNode.constraintList ?? ''}]`;
  const scalarValues = valueNode.ok !== undefined || valueNode.identity;
  const hide =
    sensitive || shapeOf(shape.key!).sensitive === true || shapeOf(shape.value!).sensitive === true;
  const parse: Parse = (v, prefix, seg) => {
    if (typeof v !== 'object' || v === null) serialization('Expected map or null');
    if (Array.isArray(v)) serialization('Start of list found where not expected');
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj);
    // Keep the input object when no value needs conversion (the common EncryptionContext case).
    let out: Record<string, unknown> | null = valueNode.identity ? obj : null;
    let badKey = false;
    let badValue = false;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const raw = obj[k];
      if (keyOk !== undefined && !badKey && !keyOk(k)) badKey = true;
      if (raw === null || raw === undefined) {
        if (out === obj) out = copyWithout(obj, keys, i);
        continue;
      }
      let x: unknown;
      if (scalarValues) {
        // value-level errors are dropped: the map-level error below replaces them
        const saved = errors;
        errors = null;
        x = valueNode.parse(raw, '', '');
        errors = saved;
        if (valueOk !== undefined && !badValue && !valueOk(x)) badValue = true;
      } else {
        x = valueNode.parse(raw, `${prefix}${seg}.`, k);
      }
      if (out !== obj) {
        if (out === null) out = {};
        defineEntry(out, k, x);
      }
    }
    const result = out ?? {};
    if (badKey) pushError(hide ? undefined : show(result), prefix + seg, keyMsg);
    if (badValue) pushError(hide ? undefined : show(result), prefix + seg, valueMsg);
    const n = result === obj ? keys.length : Object.keys(result).length;
    if (n < lo) pushError(hide ? undefined : show(result), prefix + seg, minMsg);
    else if (n > hi) pushError(hide ? undefined : show(result), prefix + seg, maxMsg);
    return result;
  };
  return { parse, identity: false };
}

/** Own-property assignment that is safe for keys like `__proto__`. */
function defineEntry(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') {
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  } else o[k] = v;
}

/** Copy of the entries before index `upto` (used once a null value must be dropped). */
function copyWithout(
  obj: Record<string, unknown>,
  keys: string[],
  upto: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let j = 0; j < upto; j++) {
    const k = keys[j]!;
    const x = obj[k];
    if (x !== null && x !== undefined) defineEntry(out, k, x);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Per-operation entry points, compiled once at module load

const OPERATION_PARSERS = new Map<string, Node | null>();
for (const [op, input] of Object.entries(KMS_MODEL.operations)) {
  OPERATION_PARSERS.set(op, input === null ? null : compile(input));
}

/**
 * Deserialize and validate the JSON-parsed request body of `operation`.
 * @throws KmsError SerializationException (wrong JSON types, bad base64),
 *   ValidationException (all constraint violations), UnknownOperationException.
 */
export function parseInput(operation: string, body: unknown): Record<string, unknown> {
  const node = OPERATION_PARSERS.get(operation);
  if (node === undefined) {
    throw kmsError('UnknownOperationException', `Unrecognized operation ${operation}`);
  }
  const input = body === undefined || body === null ? {} : body;
  if (node === null) {
    if (typeof input !== 'object' || Array.isArray(input)) notStructure(input);
    return {};
  }
  errors = null;
  let out: Record<string, unknown>;
  try {
    out = node.parse(input, '', '') as Record<string, unknown>;
  } catch (err) {
    errors = null;
    throw err;
  }
  const list = takeErrors();
  if (list !== null) {
    const n = list.length;
    throw kmsError(
      'ValidationException',
      `${n} validation error${n === 1 ? '' : 's'} detected: ${list.join('; ')}`,
    );
  }
  return out;
}

function notStructure(v: unknown): never {
  if (Array.isArray(v)) serialization('Start of list found where not expected');
  serialization('Expected null');
}
