/**
 * Size limits of one audit event, as CloudTrail applies them: `userAgent` at most 1 KB,
 * `requestParameters` and `responseElements` at most 100 KB each, and an event whose field
 * was cut carries `"omitted": true` (CloudTrail's marker) plus, in
 * `additionalEventData.truncatedFields`, which fields were cut. keyhold also caps the
 * fields CloudTrail never needs to cap because AWS's front end bounds them first: the
 * event name (an unknown X-Amz-Target is echoed there) and the error message.
 *
 * Without these limits one request could write a megabyte (a denied Decrypt with a large
 * encryption context) and an unauthenticated caller could fill the disk with User-Agents.
 */
import type { CloudTrailEvent, JsonObject, JsonValue } from './event-types.js';

/** CloudTrail: "The maximum length of this field is 1 KB". */
export const MAX_USER_AGENT_BYTES = 1024;
/** CloudTrail: request parameters and response elements, 100 KB each. */
export const MAX_PARAMETERS_BYTES = 100 * 1024;
/** KMS operation names are under 40 characters; admin ones under 64. */
export const MAX_EVENT_NAME_BYTES = 128;
/** AWS messages are a sentence or a list of validation errors. */
export const MAX_ERROR_MESSAGE_BYTES = 4096;

/** `s` cut to at most `maxBytes` UTF-8 bytes, never inside a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  // Fast path: a string of n UTF-16 units has at most 3n UTF-8 bytes.
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  const b = Buffer.from(s, 'utf8');
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((b[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return b.subarray(0, end).toString('utf8');
}

function jsonBytes(v: JsonValue): number {
  return Buffer.byteLength(JSON.stringify(v), 'utf8');
}

function isMap(v: JsonValue): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The members of `obj` that fit in `budget` bytes of JSON, in order; a map member that does
 * not fit whole (an encryption context) keeps the entries that fit. Anything else that
 * does not fit is left out.
 */
function fitObject(obj: JsonObject, budget: number): JsonObject {
  const out: JsonObject = {};
  let used = 2; // {}
  for (const [k, v] of Object.entries(obj)) {
    const keyCost = Buffer.byteLength(JSON.stringify(k), 'utf8') + 2; // "k": and a comma
    const cost = keyCost + jsonBytes(v);
    if (used + cost <= budget) {
      out[k] = v;
      used += cost;
      continue;
    }
    if (isMap(v) && used + keyCost + 2 <= budget) {
      const part = fitObject(v, budget - used - keyCost);
      out[k] = part;
      used += keyCost + jsonBytes(part);
    }
  }
  return out;
}

function boundObject(v: JsonObject | null): { value: JsonObject | null; cut: boolean } {
  if (v === null) return { value: null, cut: false };
  if (jsonBytes(v) <= MAX_PARAMETERS_BYTES) return { value: v, cut: false };
  return { value: fitObject(v, MAX_PARAMETERS_BYTES), cut: true };
}

/** Apply the limits to a built event in place; returns it. */
export function boundEvent(e: CloudTrailEvent): CloudTrailEvent {
  const cut: string[] = [];
  const cap = (field: 'userAgent' | 'eventName' | 'errorMessage', max: number) => {
    const v = e[field];
    if (v === undefined) return;
    const t = truncateUtf8(v, max);
    if (t !== v) {
      e[field] = t;
      cut.push(field);
    }
  };
  cap('userAgent', MAX_USER_AGENT_BYTES);
  cap('eventName', MAX_EVENT_NAME_BYTES);
  cap('errorMessage', MAX_ERROR_MESSAGE_BYTES);
  const req = boundObject(e.requestParameters);
  if (req.cut) {
    e.requestParameters = req.value;
    cut.push('requestParameters');
  }
  const res = boundObject(e.responseElements);
  if (res.cut) {
    e.responseElements = res.value;
    cut.push('responseElements');
  }
  if (cut.length > 0) {
    e.omitted = true;
    e.additionalEventData = { ...(e.additionalEventData ?? {}), truncatedFields: cut };
  }
  return e;
}
