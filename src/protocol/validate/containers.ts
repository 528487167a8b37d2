/**
 * Parsers of container shapes: structure (required members, unknown members dropped), list and
 * map (null items and values dropped; the constraints of scalar items, keys and values reported
 * once per container). They compile their members' shapes through the `compile` they are given.
 */
import type { ModelShape } from '../model/kms-model.js';
import { lowerFirst, shapeOf, type Compile, type Node, type Parse } from './node.js';
import {
  MAX_LEN,
  MIN_LEN,
  pushError,
  restoreErrors,
  serialization,
  show,
  suspendErrors,
} from './report.js';

interface MemberSpec {
  name: string;
  seg: string;
  node: Node;
  required: boolean;
  /** AWS hides a sensitive member's value even when it is missing: `Value at 'plaintext'`. */
  sensitive: boolean;
}

export function buildStructure(shape: ModelShape, compile: Compile): Node {
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

export function buildList(shape: ModelShape, compile: Compile): Node {
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
        const saved = suspendErrors();
        const x = item.parse(raw, '', '');
        restoreErrors(saved);
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

export function buildMap(shape: ModelShape, compile: Compile): Node {
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
        const saved = suspendErrors();
        x = valueNode.parse(raw, '', '');
        restoreErrors(saved);
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
