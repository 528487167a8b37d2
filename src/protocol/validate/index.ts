/**
 * Model-driven request deserialization and validation (AWS JSON 1.1 → typed input).
 *
 * This folder: index.ts (the entry points), compile.ts (one parser per shape), scalars.ts,
 * containers.ts, report.ts (error collection, value printing, constraint wording) and
 * java-regex.ts (model patterns).
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
import { kmsError } from '../../errors/aws-errors.js';
import { KMS_MODEL } from '../model/kms-model.js';
import { compile } from './compile.js';
import type { Node } from './node.js';
import { resetErrors, serialization, takeErrors } from './report.js';

export { compileJavaPattern } from './java-regex.js';

/** The operation names of the model (54, sorted). */
export const OPERATION_NAMES: readonly string[] = Object.freeze(Object.keys(KMS_MODEL.operations));

const OPERATION_SET: ReadonlySet<string> = new Set(OPERATION_NAMES);

/** True when `name` is a KMS operation of the model. */
export function isOperationName(name: string): boolean {
  return OPERATION_SET.has(name);
}

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
  resetErrors();
  let out: Record<string, unknown>;
  try {
    out = node.parse(input, '', '') as Record<string, unknown>;
  } catch (err) {
    resetErrors();
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
