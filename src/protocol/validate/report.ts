/**
 * The error report of parseInput: the module-level collector of validation errors (parseInput
 * is synchronous and non-reentrant), the SerializationException thrower, the Java-ish printing
 * of values and the constraint wordings, all as AWS Coral words them (see index.ts).
 */
import { kmsError } from '../../errors/aws-errors.js';

let errors: string[] | null = null;

/** Start a request with no errors collected (also after a parse threw). */
export function resetErrors(): void {
  errors = null;
}

/**
 * Set the collected errors aside (and collect none) while a list item or map value is parsed
 * for its type checks only; give them back with restoreErrors.
 */
export function suspendErrors(): string[] | null {
  const saved = errors;
  errors = null;
  return saved;
}

/** Put back what suspendErrors set aside, dropping what was collected meanwhile. */
export function restoreErrors(saved: string[] | null): void {
  errors = saved;
}

export function pushError(repr: string | null | undefined, path: string, constraint: string): void {
  // repr: undefined → sensitive (value omitted), null → JSON null, string → printed value
  const value = repr === undefined ? 'Value' : repr === null ? 'Value null' : `Value '${repr}'`;
  const msg = `${value} at '${path}' failed to satisfy constraint: ${constraint}`;
  if (errors === null) errors = [msg];
  else errors.push(msg);
}

/** Returns and clears the collected errors (a function, so TS does not narrow `errors`). */
export function takeErrors(): string[] | null {
  const list = errors;
  errors = null;
  return list;
}

export function serialization(message: string): never {
  throw kmsError('SerializationException', message);
}

export function joinPath(prefix: string, seg: string): string {
  return prefix + seg;
}

/** Java-ish toString of a deserialized value, whole (AWS echoes long values in full). */
export function show(v: unknown): string {
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
export function token(v: unknown): string {
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
export function notScalar(v: object): never {
  if (Array.isArray(v)) serialization('Start of list found where not expected');
  serialization('Start of structure or map found where not expected.');
}

// --- constraint wording ---------------------------------------------------------------------

export const MIN_LEN = (n: number): string =>
  `Member must have length greater than or equal to ${n}`;
export const MAX_LEN = (n: number): string => `Member must have length less than or equal to ${n}`;
export const MIN_VAL = (n: number): string =>
  `Member must have value greater than or equal to ${n}`;
export const MAX_VAL = (n: number): string => `Member must have value less than or equal to ${n}`;
export const PATTERN = (p: string): string =>
  `Member must satisfy regular expression pattern: ${p}`;
export const ENUM = (e: readonly string[]): string =>
  `Member must satisfy enum value set: [${e.join(', ')}]`;
