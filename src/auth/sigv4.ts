/**
 * SigV4 verification for every request (service `kms`): the Authorization header's form,
 * the credential scope and clock skew. The signature itself is computed in
 * sigv4-signature.ts over exactly the headers the client listed in SignedHeaders (tested to
 * agree with @smithy/signature-v4), and compared in constant time.
 */
import { kmsError } from '../errors/aws-errors.js';
import type { ParsedAuthorization, SignedRequest } from './sigv4-types.js';

export { SigV4Verifier } from './sigv4-signature.js';

export type { ParsedAuthorization, SignedRequest } from './sigv4-types.js';

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request\s*,\s*SignedHeaders=([^\s,]+)\s*,\s*Signature=([0-9a-fA-F]+)\s*$/;

/** Parse and check the Authorization header's form; no secret needed yet. */
export function parseAuthorization(req: Omit<SignedRequest, 'body'>): ParsedAuthorization {
  const auth = header(req, 'authorization');
  /* Precondition: the request carries SigV4 authentication. */
  if (auth === undefined || auth === '') {
    throw kmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const m = AUTH_RE.exec(auth);
  if (m === null) {
    throw kmsError(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=${auth.split(' ')[0] ?? ''}`,
    );
  }
  const [, accessKeyId, date, region, service, signed, signature] = m as unknown as string[];
  const amzDate = header(req, 'x-amz-date');
  /* Precondition: the signing time is given in X-Amz-Date. */
  if (amzDate === undefined || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
    throw kmsError(
      'IncompleteSignatureException',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  const signedHeaders = (signed as string).split(';');
  /* Precondition: host is among the signed headers (SigV4 requires it). */
  if (!signedHeaders.includes('host')) {
    throw kmsError(
      'InvalidSignatureException',
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  return {
    accessKeyId: accessKeyId as string,
    date: date as string,
    region: region as string,
    service: service as string,
    signedHeaders,
    signature: (signature as string).toLowerCase(),
    amzDate,
    signingDate: parseAmzDate(amzDate),
  };
}

/**
 * Every x-amz-* header the request carries must be signed (SigV4: "x-amz-* headers that you
 * plan to add to the request must also be signed"). Otherwise a captured request could be
 * replayed within the skew window with another X-Amz-Target or security token. The AWS SDKs
 * and the AWS CLI sign every such header. Not applied to the XKS proxy: KMS signs only host
 * and x-amz-date there.
 */
export function requireSignedAmzHeaders(
  req: Omit<SignedRequest, 'body'>,
  p: ParsedAuthorization,
): void {
  const signed = new Set(p.signedHeaders);
  for (const name of Object.keys(req.headers)) {
    const lower = name.toLowerCase();
    /* Precondition: every x-amz-* header present is among the signed headers. */
    if (lower.startsWith('x-amz-') && !signed.has(lower)) {
      throw kmsError(
        'InvalidSignatureException',
        `'${lower}' must be a 'SignedHeader' in the AWS Authorization: every x-amz-* header of a request must be signed.`,
      );
    }
  }
}

/** Check the credential scope against the request time and this server. */
export function checkScope(
  p: ParsedAuthorization,
  regions: readonly string[],
  now: Date,
  maxSkewSeconds: number,
  service = 'kms',
): void {
  if (p.service !== service) {
    throw kmsError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${service}'. `,
    );
  }
  if (!regions.includes(p.region)) {
    throw kmsError(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${p.region}'. `,
    );
  }
  if (p.date !== p.amzDate.slice(0, 8)) {
    throw kmsError(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${p.date}' != '${p.amzDate.slice(0, 8)}', from '${p.amzDate}'.`,
    );
  }
  const skew = (p.signingDate.getTime() - now.getTime()) / 1000;
  if (skew < -maxSkewSeconds) {
    throw kmsError(
      'InvalidSignatureException',
      `Signature expired: ${p.amzDate} is now earlier than ${amz(new Date(now.getTime() - maxSkewSeconds * 1000))} (${amz(now)} - ${maxSkewSeconds / 60} min.)`,
    );
  }
  if (skew > maxSkewSeconds) {
    throw kmsError(
      'InvalidSignatureException',
      `Signature not yet current: ${p.amzDate} is still later than ${amz(new Date(now.getTime() + maxSkewSeconds * 1000))} (${amz(now)} + ${maxSkewSeconds / 60} min.)`,
    );
  }
}

export function header(req: Omit<SignedRequest, 'body'>, name: string): string | undefined {
  const v = req.headers[name];
  if (Array.isArray(v)) return v.join(',');
  return v;
}

function parseAmzDate(s: string): Date {
  return new Date(
    `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`,
  );
}

function amz(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
