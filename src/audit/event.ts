/**
 * CloudTrail-shaped audit events. One event per KMS request, success or failure.
 *
 * The shape follows the AWS KMS developer guide's CloudTrail examples
 * ("Examples of AWS KMS log entries", ct-*.html): camelCase request members in
 * `requestParameters`, the encryption context included, every ciphertext, plaintext,
 * signature, MAC, token and password omitted; `responseElements` null for
 * cryptographic and read operations and a few selected fields for the management
 * operations that AWS records.
 */

import { randomUUID } from 'node:crypto';
import { boundEvent } from './event-bounds.js';
import type {
  CloudTrailEvent,
  CloudTrailResource,
  CloudTrailUserIdentity,
  JsonObject,
  JsonValue,
} from './event-types.js';

/** The caller, as the auth layer resolved it. */
export interface AuditPrincipal {
  accountId: string;
  arn: string;
  type: 'Root' | 'IAMUser' | 'AssumedRole';
  accessKeyId: string;
  userId: string;
}

/** Everything the request runner knows about one request once it is answered. */
export interface AuditInput {
  requestId: string;
  /** The event's id, when the caller needs it (GetKeyLastUsage); generated otherwise. */
  eventId?: string | undefined;
  eventTime: Date;
  /** The KMS operation name (X-Amz-Target suffix), e.g. `GenerateDataKey`. */
  operation: string;
  region: string;
  sourceIp: string;
  userAgent: string;
  /** Absent when the request failed before (or during) authentication. */
  principal?: AuditPrincipal | undefined;
  recipientAccountId: string;
  /** The parsed KMS request; blobs are Buffers. */
  input: Record<string, unknown> | undefined;
  /** The operation result; blobs are Buffers, dates are Dates. */
  output: Record<string, unknown> | undefined;
  errorCode?: string;
  errorMessage?: string;
  /** ARNs of the KMS keys the request touched (resolved, not as the caller wrote them). */
  keyArns: string[];
  readOnly: boolean;
  /** Ties the copies of one request's event delivered to several accounts (cross-account use). */
  sharedEventId?: string | undefined;
  /** CloudTrail's additionalEventData (aggregated unauthenticated requests, log resets). */
  additionalEventData?: JsonObject | undefined;
}

export type {
  CloudTrailEvent,
  CloudTrailResource,
  CloudTrailUserIdentity,
  JsonObject,
  JsonValue,
} from './event-types.js';

/**
 * Request and response members that never reach an event, whatever their type:
 * data, key material, signatures, MACs, bearer tokens and passwords. Buffers are
 * dropped anyway; this list also catches them if a caller hands them over as
 * strings (base64) and catches the sensitive string members (passwords, tokens).
 */
const SENSITIVE_MEMBERS: ReadonlySet<string> = new Set([
  'Plaintext',
  'CiphertextBlob',
  'SourceCiphertextBlob',
  'Message',
  'Mac',
  'Signature',
  'EncryptedKeyMaterial',
  'ImportToken',
  'PublicKey',
  'PrivateKeyPlaintext',
  'PrivateKeyCiphertextBlob',
  'SharedSecret',
  'CiphertextForRecipient',
  'AttestationDocument',
  'GrantTokens',
  'GrantToken',
  'KeyStorePassword',
  'XksProxyAuthenticationCredential',
  'RawSecretAccessKey',
]);

/** Members whose value is a map with caller-chosen keys, copied without renaming. */
const MAP_MEMBERS: ReadonlySet<string> = new Set([
  'EncryptionContext',
  'SourceEncryptionContext',
  'DestinationEncryptionContext',
  'EncryptionContextSubset',
  'EncryptionContextEquals',
]);

/** Request members CloudTrail records under a name other than the camelCase one. */
const RENAMED_MEMBERS: Readonly<Record<string, string>> = {
  CloudHsmClusterId: 'clusterId',
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Aug 10, 2022, 10:38:27 PM` (UTC), as CloudTrail renders dates inside KMS responseElements. */
export function formatCloudTrailDate(d: Date): string {
  const h24 = d.getUTCHours();
  const h12 = h24 % 12 === 0 ? 12 : h24 % 12;
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  const month = MONTHS[d.getUTCMonth()] ?? '';
  return `${month} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h12}:${mm}:${ss} ${h24 < 12 ? 'AM' : 'PM'}`;
}

let lastEventSecond = NaN;
let lastEventTime = '';

/**
 * `2022-08-10T22:38:27Z`: CloudTrail's eventTime, second precision. The string of the last
 * second asked is kept: the events of one second share it (one ISO string, not one each).
 */
export function formatEventTime(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== lastEventSecond) {
    lastEventTime = d.toISOString().slice(0, 19) + 'Z';
    lastEventSecond = second;
  }
  return lastEventTime;
}

/** KeyId → keyId; keeps leading acronyms (AWSAccountId) as CloudTrail does. */
function memberName(name: string): string {
  const renamed = RENAMED_MEMBERS[name];
  if (renamed !== undefined) return renamed;
  const second = name.charAt(1);
  if (second !== '' && second === second.toUpperCase() && second !== second.toLowerCase()) {
    return name;
  }
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function isBinary(v: unknown): boolean {
  return Buffer.isBuffer(v) || v instanceof Uint8Array || v instanceof ArrayBuffer;
}

/** A string → string map copied verbatim (encryption context); anything else is dropped. */
function copyStringMap(v: unknown): JsonObject | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || isBinary(v)) return undefined;
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string') out[k] = val;
  }
  return out;
}

/**
 * Turn a KMS shape into CloudTrail JSON: camelCase members, dates rendered, and
 * every binary or sensitive member removed at any depth. Returns undefined for a
 * value that must be dropped.
 */
export function sanitize(v: unknown): JsonValue | undefined {
  if (v === null) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'object':
      break;
    default:
      return undefined; // undefined, bigint, function, symbol
  }
  if (isBinary(v)) return undefined;
  if (v instanceof Date) return formatCloudTrailDate(v);
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const item of v) {
      const s = sanitize(item);
      if (s !== undefined) out.push(s);
    }
    return out;
  }
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (SENSITIVE_MEMBERS.has(k)) continue;
    const s = MAP_MEMBERS.has(k) ? copyStringMap(val) : sanitize(val);
    if (s !== undefined) out[memberName(k)] = s;
  }
  return out;
}

function sanitizeObject(v: Record<string, unknown> | undefined): JsonObject | null {
  if (v === undefined) return null;
  const s = sanitize(v);
  return s !== null && typeof s === 'object' && !Array.isArray(s) ? s : null;
}

/** Build selected response members (PascalCase in the output) into a CloudTrail object. */
function pick(out: Record<string, unknown>, members: readonly string[]): JsonObject {
  const picked: Record<string, unknown> = {};
  for (const m of members) if (out[m] !== undefined) picked[m] = out[m];
  return sanitizeObject(picked) ?? {};
}

type ResponseBuilder = (out: Record<string, unknown>, keyArns: readonly string[]) => JsonObject;

/**
 * What CloudTrail records in `responseElements`, per operation (from the KMS
 * developer guide's ct-*.html examples). Operations not listed record null: all
 * cryptographic operations, reads (DescribeKey, GetKeyPolicy, List*, ...) and the
 * management operations whose response is empty.
 */
const RESPONSE_ELEMENTS: Readonly<Record<string, ResponseBuilder>> = {
  CreateKey: (o) => pick(o, ['KeyMetadata']),
  ReplicateKey: (o) => pick(o, ['ReplicaKeyMetadata', 'ReplicaPolicy', 'ReplicaTags']),
  ScheduleKeyDeletion: (o) => pick(o, ['KeyId', 'DeletionDate', 'KeyState', 'PendingWindowInDays']),
  CancelKeyDeletion: (o) => pick(o, ['KeyId']),
  RotateKeyOnDemand: (o) => pick(o, ['KeyId']),
  // The response has GrantId and GrantToken; CloudTrail keeps the id and adds the key ARN.
  CreateGrant: (o, arns) => {
    const r = pick(o, ['GrantId']);
    if (arns[0] !== undefined) r['keyId'] = arns[0];
    return r;
  },
  CreateCustomKeyStore: (o) => pick(o, ['CustomKeyStoreId']),
};

/**
 * Request members CloudTrail adds when the caller left them out: Decrypt and
 * Encrypt entries always carry encryptionAlgorithm (ct-decrypt.html).
 */
const REQUEST_DEFAULTS: Readonly<Record<string, JsonObject>> = {
  Decrypt: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
  Encrypt: { encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
};

function requestParameters(input: AuditInput): JsonObject | null {
  const params = sanitizeObject(input.input);
  const defaults = REQUEST_DEFAULTS[input.operation];
  if (params === null || defaults === undefined) return params;
  return { ...defaults, ...params };
}

function responseElements(input: AuditInput): JsonObject | null {
  if (input.errorCode !== undefined || input.output === undefined) return null;
  const build = RESPONSE_ELEMENTS[input.operation];
  return build === undefined ? null : build(input.output, input.keyArns);
}

/** `arn:aws:sts::111122223333:assumed-role/Role/session` → the role's IAM ARN and name. */
function sessionIssuer(p: AuditPrincipal): CloudTrailUserIdentity['sessionContext'] {
  const m = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\//.exec(p.arn);
  if (m === null) return undefined;
  const [, partition = 'aws', account = p.accountId, roleName = ''] = m;
  return {
    sessionIssuer: {
      type: 'Role',
      principalId: p.userId.split(':')[0] ?? p.userId,
      arn: `arn:${partition}:iam::${account}:role/${roleName}`,
      accountId: account,
      userName: roleName,
    },
  };
}

function userIdentity(p: AuditPrincipal | undefined): CloudTrailUserIdentity {
  // An unauthenticated request has no identity we can vouch for.
  if (p === undefined) return { type: 'Unknown' };
  const base: CloudTrailUserIdentity = {
    type: p.type,
    principalId: p.type === 'Root' ? p.accountId : p.userId,
    arn: p.arn,
    accountId: p.accountId,
    accessKeyId: p.accessKeyId,
  };
  if (p.type === 'IAMUser') base.userName = p.arn.slice(p.arn.lastIndexOf('/') + 1);
  if (p.type === 'AssumedRole') {
    const ctx = sessionIssuer(p);
    if (ctx !== undefined) base.sessionContext = ctx;
  }
  return base;
}

function resources(keyArns: readonly string[]): CloudTrailResource[] {
  return keyArns.map((arn) => ({
    ARN: arn,
    accountId: arn.split(':')[4] ?? '',
    type: 'AWS::KMS::Key',
  }));
}

/**
 * Build the CloudTrail event for one request, within CloudTrail's size limits
 * (event-bounds.ts). Pure apart from the fresh eventID.
 */
export function buildEvent(input: AuditInput): CloudTrailEvent {
  // Members are written in CloudTrail's order; optional ones are spread in place.
  const error: Pick<CloudTrailEvent, 'errorCode' | 'errorMessage'> = {};
  if (input.errorCode !== undefined) {
    error.errorCode = input.errorCode;
    if (input.errorMessage !== undefined) error.errorMessage = input.errorMessage;
  }
  return boundEvent({
    eventVersion: '1.08',
    userIdentity: userIdentity(input.principal),
    eventTime: formatEventTime(input.eventTime),
    eventSource: 'kms.amazonaws.com',
    eventName: input.operation,
    awsRegion: input.region,
    sourceIPAddress: input.sourceIp,
    userAgent: input.userAgent,
    ...error,
    requestParameters: requestParameters(input),
    responseElements: responseElements(input),
    ...(input.additionalEventData !== undefined
      ? { additionalEventData: input.additionalEventData }
      : {}),
    requestID: input.requestId,
    eventID: input.eventId ?? randomUUID(),
    readOnly: input.readOnly,
    ...(input.keyArns.length > 0 ? { resources: resources(input.keyArns) } : {}),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: input.recipientAccountId,
    ...(input.sharedEventId !== undefined ? { sharedEventID: input.sharedEventId } : {}),
    eventCategory: 'Management',
  });
}

/** The indexed columns stored beside an event's body (see AuditRow). */
export interface EventIndex {
  eventId: string;
  eventTime: string;
  eventName: string;
  principalArn: string | null;
  keyArns: string;
}

/** Derive the query columns from an event, so that verify can check them against the body. */
export function eventIndex(event: CloudTrailEvent): EventIndex {
  return {
    eventId: event.eventID,
    eventTime: event.eventTime,
    eventName: event.eventName,
    principalArn: event.userIdentity.arn ?? null,
    keyArns: event.resources === undefined ? '' : event.resources.map((r) => r.ARN).join(' '),
  };
}
