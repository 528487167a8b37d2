/** The compiled parser of one shape, and the model lookups every builder uses. */
import { KMS_MODEL, type ModelShape } from '../model/kms-model.js';

/**
 * Parses one non-null JSON value of a shape. `prefix` is the parent path including its trailing
 * dot, `seg` the camelCase segment of this value; they are only joined when reporting an error.
 * Returns the converted value; records validation errors; throws SerializationException.
 */
export type Parse = (v: unknown, prefix: string, seg: string) => unknown;

export interface Node {
  parse: Parse;
  /** Scalars only: whether a converted value satisfies all constraints (list items, map keys). */
  ok?: (v: unknown) => boolean;
  /** Scalars only: the constraint list used in "Member must satisfy constraint: [...]". */
  constraintList?: string;
  /** The parser needs no conversion (string/boolean/number): containers may keep their input. */
  identity: boolean;
}

/** Compiles (once) the parser of a named shape; builders of containers get it as an argument. */
export type Compile = (name: string) => Node;

export function shapeOf(name: string): ModelShape {
  const s = KMS_MODEL.shapes[name];
  if (s === undefined) throw new Error(`KMS model: unknown shape ${name}`);
  return s;
}

export function lowerFirst(s: string): string {
  return s.length === 0 ? s : s[0]!.toLowerCase() + s.slice(1);
}
