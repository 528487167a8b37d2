/**
 * The four XKS Proxy API operations (spec v1.0.3: GetKeyMetadata, Encrypt, Decrypt,
 * GetHealthStatus), as functions of a parsed JSON body. No HTTP here; errors are XksErrors.
 * Unknown request fields are ignored (spec Appendix B: KMS may add fields).
 */
import { isAuthorized, type AuthorizationPolicy, type XksKeyOperation } from './authorization.js';
import { GcmLimitReachedError, type GcmInvocationBudget } from '../hsm/gcm-budget.js';
import { AuthTagError, type XksBackend, type XksKeyMetadata } from './backend.js';
import type { XksProxyConfig } from './config.js';
import { xksError } from './errors.js';
import { CIPHERTEXT_METADATA_V1, ciphertextDataIntegrityValue, hsmAad } from './gcm-format.js';
import { timeBackend } from './metrics.js';

export type XksOperation = XksKeyOperation | 'GetHealthStatus';

export interface OperationContext {
  backend: XksBackend;
  /** Counts encryptions per external key (random-IV GCM bound); absent = not counted. */
  gcm?: GcmInvocationBudget | undefined;
  config: Pick<XksProxyConfig, 'health' | 'limits'>;
  authorization: AuthorizationPolicy | undefined;
}

type Body = Record<string, unknown>;

export interface RequestMetadata {
  awsPrincipalArn?: string;
  kmsKeyArn?: string;
  kmsOperation: string;
  kmsRequestId: string;
}

export async function runOperation(
  ctx: OperationContext,
  op: XksOperation,
  keyId: string | undefined,
  body: unknown,
): Promise<{ response: object; metadata: RequestMetadata }> {
  /* Precondition: the body is a JSON object. */
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw xksError('ValidationException', 'The request body must be a JSON object');
  }
  const b = body as Body;
  const metadata = requestMetadata(b, op);
  if (op === 'GetHealthStatus') return { response: await health(ctx), metadata };
  const id = keyId as string;
  switch (op) {
    case 'GetKeyMetadata':
      return { response: await getKeyMetadata(ctx, id, metadata), metadata };
    case 'Encrypt':
      return { response: await encrypt(ctx, id, metadata, b), metadata };
    case 'Decrypt':
      return { response: await decrypt(ctx, id, metadata, b), metadata };
  }
}

/** Spec "requestMetadata": which fields each API requires. Others are optional or unknown. */
const REQUIRED: Record<XksOperation, readonly (keyof RequestMetadata)[]> = {
  GetHealthStatus: ['kmsRequestId', 'kmsOperation'],
  GetKeyMetadata: ['awsPrincipalArn', 'kmsOperation', 'kmsRequestId'],
  Encrypt: ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId'],
  Decrypt: ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId'],
};

function requestMetadata(b: Body, op: XksOperation): RequestMetadata {
  const m = b.requestMetadata;
  /* Precondition: requestMetadata is present (the test client expects ValidationException, also on health). */
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw xksError('ValidationException', 'requestMetadata is required');
  }
  const md = m as Record<string, unknown>;
  for (const f of REQUIRED[op]) {
    const v = md[f];
    if (typeof v !== 'string' || v === '') {
      throw xksError('ValidationException', `requestMetadata.${f} is required`);
    }
  }
  // kmsRequestId and kmsOperation are opaque: the spec forbids validating their structure
  // or rejecting unknown kmsOperation values.
  return {
    kmsOperation: md.kmsOperation as string,
    kmsRequestId: md.kmsRequestId as string,
    ...(typeof md.awsPrincipalArn === 'string' ? { awsPrincipalArn: md.awsPrincipalArn } : {}),
    ...(typeof md.kmsKeyArn === 'string' ? { kmsKeyArn: md.kmsKeyArn } : {}),
  };
}

async function health(ctx: OperationContext): Promise<object> {
  const h = ctx.config.health;
  let ekmFleetDetails;
  try {
    ekmFleetDetails = await withTimeout(ctx, 'health', () => ctx.backend.health());
  } catch {
    ekmFleetDetails = [
      { id: ctx.backend.kind, model: ctx.backend.ekmVendor, healthStatus: 'UNAVAILABLE' },
    ];
  }
  return {
    xksProxyFleetSize: h.fleetSize,
    xksProxyVendor: h.vendor,
    xksProxyModel: h.model,
    ekmVendor: h.ekmVendor ?? ctx.backend.ekmVendor,
    ekmFleetDetails: ekmFleetDetails.slice(0, 10),
  };
}

async function getKeyMetadata(
  ctx: OperationContext,
  keyId: string,
  md: RequestMetadata,
): Promise<XksKeyMetadata> {
  authorize(ctx, 'GetKeyMetadata', keyId, md);
  return lookUp(ctx, keyId);
}

/** One more random-IV encryption under the key; past the limit the key only decrypts. */
async function countEncryption(ctx: OperationContext, keyId: string): Promise<void> {
  if (ctx.gcm === undefined) return;
  try {
    await ctx.gcm.take(keyId);
  } catch (err) {
    if (!(err instanceof GcmLimitReachedError)) throw backendFailure(err);
    throw xksError(
      'InvalidStateException',
      `The external key has reached its AES-GCM invocation limit (${ctx.gcm.limit} encryptions); it can still decrypt`,
    );
  }
}

async function encrypt(
  ctx: OperationContext,
  keyId: string,
  md: RequestMetadata,
  b: Body,
): Promise<object> {
  const plaintext = b64(b, 'plaintext', true) as Buffer;
  const aad = b64(b, 'additionalAuthenticatedData', false) ?? Buffer.alloc(0);
  algorithm(b);
  const cdiv = b.ciphertextDataIntegrityValueAlgorithm;
  /* Precondition: the only integrity algorithm of v1 is SHA_256. */
  if (cdiv !== undefined && cdiv !== 'SHA_256') {
    throw xksError('ValidationException', 'ciphertextDataIntegrityValueAlgorithm must be SHA_256');
  }
  limit(plaintext, ctx.config.limits.maxPlaintextBytes, 'plaintext');
  limit(aad, ctx.config.limits.maxAadBytes, 'additionalAuthenticatedData');
  authorize(ctx, 'Encrypt', keyId, md);
  const meta = await lookUp(ctx, keyId);
  usable(meta, 'ENCRYPT');
  // With a CDIV the proxy must test-decrypt (Appendix C), so the key must also allow
  // DECRYPT; the official test client expects InvalidKeyUsageException for an
  // encrypt-only key here.
  if (cdiv !== undefined) usable(meta, 'DECRYPT');
  await countEncryption(ctx, keyId);

  const ctm = CIPHERTEXT_METADATA_V1;
  const fullAad = hsmAad(aad, ctm);
  const r = await backendCall(ctx, 'encrypt', () => ctx.backend.encrypt(keyId, plaintext, fullAad));
  const out: Record<string, string> = {
    ciphertext: r.ciphertext.toString('base64'),
    ciphertextMetadata: ctm.toString('base64'),
    initializationVector: r.iv.toString('base64'),
    authenticationTag: r.tag.toString('base64'),
  };
  if (cdiv === 'SHA_256') {
    // Spec Appendix C: encrypt, compute the CDIV, then test-decrypt before answering, so
    // that a CDIV KMS accepts is a promise that Decrypt will work.
    out.ciphertextDataIntegrityValue = ciphertextDataIntegrityValue({
      aad,
      ciphertextMetadata: ctm,
      iv: r.iv,
      ciphertext: r.ciphertext,
      tag: r.tag,
    }).toString('base64');
    const check = await backendCall(ctx, 'decrypt', () =>
      ctx.backend.decrypt(keyId, r.ciphertext, r.iv, r.tag, fullAad),
    );
    const same = check.equals(plaintext);
    check.fill(0);
    if (!same)
      throw xksError(
        'InternalException',
        'The test decryption after Encrypt did not return the plaintext',
      );
  }
  plaintext.fill(0);
  return out;
}

async function decrypt(
  ctx: OperationContext,
  keyId: string,
  md: RequestMetadata,
  b: Body,
): Promise<object> {
  const ciphertext = b64(b, 'ciphertext', true) as Buffer;
  const iv = b64(b, 'initializationVector', true) as Buffer;
  const tag = b64(b, 'authenticationTag', true) as Buffer;
  const aad = b64(b, 'additionalAuthenticatedData', false) ?? Buffer.alloc(0);
  const ctm = b64(b, 'ciphertextMetadata', false) ?? Buffer.alloc(0);
  algorithm(b);
  limit(ciphertext, ctx.config.limits.maxPlaintextBytes, 'ciphertext');
  limit(aad, ctx.config.limits.maxAadBytes, 'additionalAuthenticatedData');
  authorize(ctx, 'Decrypt', keyId, md);
  usable(await lookUp(ctx, keyId), 'DECRYPT');
  /* Precondition: IV, tag and ciphertextMetadata have the spec's sizes. */
  if (iv.length !== 12 && iv.length !== 16) {
    throw xksError('InvalidCiphertextException', 'initializationVector must be 12 or 16 bytes');
  }
  if (tag.length !== 16)
    throw xksError('InvalidCiphertextException', 'authenticationTag must be 16 bytes');
  if (ctm.length > 20)
    throw xksError('InvalidCiphertextException', 'ciphertextMetadata must be at most 20 bytes');
  let plaintext: Buffer;
  try {
    plaintext = await withTimeout(ctx, 'decrypt', () =>
      ctx.backend.decrypt(keyId, ciphertext, iv, tag, hsmAad(aad, ctm)),
    );
  } catch (err) {
    // One opaque answer for every authentication failure (wrong AAD, IV, tag, metadata, key).
    if (err instanceof AuthTagError) {
      throw xksError(
        'InvalidCiphertextException',
        'The ciphertext, its metadata or the AAD is invalid',
      );
    }
    throw backendFailure(err);
  }
  const out = { plaintext: plaintext.toString('base64') };
  plaintext.fill(0);
  return out;
}

function authorize(
  ctx: OperationContext,
  operation: XksKeyOperation,
  keyId: string,
  md: RequestMetadata,
): void {
  const ok = isAuthorized(ctx.authorization, {
    operation,
    keyId,
    awsPrincipalArn: md.awsPrincipalArn as string,
    kmsOperation: md.kmsOperation,
    kmsKeyArn: md.kmsKeyArn,
  });
  if (!ok) {
    throw xksError(
      'AccessDeniedException',
      `${md.awsPrincipalArn ?? 'The caller'} is not authorized to ${operation} with this key`,
    );
  }
}

async function lookUp(ctx: OperationContext, keyId: string): Promise<XksKeyMetadata> {
  const meta = await backendCall(ctx, 'metadata', () => ctx.backend.metadata(keyId));
  if (meta === undefined) throw xksError('KeyNotFoundException', `External key ${keyId} not found`);
  return meta;
}

function usable(meta: XksKeyMetadata, usage: 'ENCRYPT' | 'DECRYPT'): void {
  /* Precondition: the key is enabled (spec: InvalidStateException). */
  if (meta.keyStatus !== 'ENABLED')
    throw xksError('InvalidStateException', 'The external key is disabled');
  /* Precondition: the key allows the operation (spec: InvalidKeyUsageException). */
  if (!meta.keyUsage.includes(usage)) {
    throw xksError('InvalidKeyUsageException', `The external key does not allow ${usage}`);
  }
}

async function backendCall<T>(
  ctx: OperationContext,
  call: string,
  f: () => Promise<T>,
): Promise<T> {
  try {
    return await withTimeout(ctx, call, f);
  } catch (err) {
    throw backendFailure(err);
  }
}

/** Run a backend call under `limits.backendTimeoutMs` (spec: DependencyTimeoutException). */
async function withTimeout<T>(
  ctx: OperationContext,
  call: string,
  f: () => Promise<T>,
): Promise<T> {
  const ms = ctx.config.limits.backendTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          xksError(
            'DependencyTimeoutException',
            `The key backend did not answer ${call} within ${ms} ms`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([timeBackend(ctx.backend.kind, call, f), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function backendFailure(err: unknown): Error {
  if (err instanceof Error && err.name === 'XksError') return err;
  // The PKCS#11 session pool gave up waiting for a free session: a dependency timeout.
  const p = err as { name?: string; ckr?: string; method?: string };
  if (p?.name === 'Pkcs11Error' && p.ckr === 'CKR_SESSION_COUNT' && p.method === 'acquire') {
    return xksError('DependencyTimeoutException', 'No PKCS#11 session became free in time');
  }
  return xksError('InternalException', 'The external key manager failed the request', err);
}

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A standard-Base64 field (spec changelog 1.0.2: RFC 4648 §4, not URL-safe). */
function b64(b: Body, name: string, required: boolean): Buffer | undefined {
  const v = b[name];
  if (v === undefined || v === null) {
    if (required) throw xksError('ValidationException', `${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || !B64_RE.test(v)) {
    throw xksError('ValidationException', `${name} must be a standard Base64 string`);
  }
  return Buffer.from(v, 'base64');
}

function algorithm(b: Body): void {
  /* Precondition: encryptionAlgorithm is AES_GCM, the only value of v1. */
  if (b.encryptionAlgorithm !== 'AES_GCM') {
    throw xksError('ValidationException', 'encryptionAlgorithm must be AES_GCM');
  }
}

function limit(buf: Buffer, max: number, name: string): void {
  // Spec: UnsupportedOperationException when a parameter exceeds the implementation's
  // maximum (beyond the spec's minimum).
  if (buf.length > max) {
    throw xksError(
      'UnsupportedOperationException',
      `${name} is longer than this proxy's limit of ${max} bytes`,
    );
  }
}
