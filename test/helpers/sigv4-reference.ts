/**
 * The reference SigV4 verifier: the code keyhold ran before its own verifier
 * (src/auth/sigv4-signature.ts), signing with @smithy/signature-v4 exactly as the AWS SDKs
 * do. The property test holds keyhold's verifier to it; the stage bench times both.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { kmsError } from '../../src/errors/aws-errors.js';
import { header, type ParsedAuthorization, type SignedRequest } from '../../src/auth/sigv4.js';

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** The verifier keyhold used before its own: @smithy/signature-v4 signs, keyhold compares. */
export class SmithySigV4Verifier {
  readonly #signer: SignatureV4;

  constructor(accessKeyId: string, secretAccessKey: string, sessionToken?: string) {
    this.#signer = new SignatureV4({
      credentials: {
        accessKeyId,
        secretAccessKey,
        ...(sessionToken !== undefined ? { sessionToken } : {}),
      },
      region: '*',
      service: 'kms',
      sha256: Hash.bind(null, 'sha256'),
      applyChecksum: false,
    });
  }

  async verify(req: SignedRequest, p: ParsedAuthorization): Promise<void> {
    const wanted = Buffer.from(await this.signature(req, p), 'utf8');
    const given = Buffer.from(p.signature, 'utf8');
    if (wanted.length !== given.length || !timingSafeEqual(wanted, given)) {
      throw kmsError('InvalidSignatureException', MISMATCH);
    }
  }

  /** The hex signature @smithy/signature-v4 gives the request. */
  async signature(req: SignedRequest, p: ParsedAuthorization): Promise<string> {
    const headers: Record<string, string> = {};
    for (const name of p.signedHeaders) {
      const v = header(req, name);
      /* Precondition: every signed header is present in the request. */
      if (v === undefined) throw kmsError('InvalidSignatureException', MISMATCH);
      headers[name] = v;
    }
    const declaredHash = headers['x-amz-content-sha256'];
    if (
      declaredHash !== undefined &&
      declaredHash !== createHash('sha256').update(req.body).digest('hex')
    ) {
      throw kmsError(
        'InvalidSignatureException',
        'The provided x-amz-content-sha256 header does not match what was computed.',
      );
    }
    const [path, query] = splitPath(req.path);
    const request = new HttpRequest({
      method: req.method,
      protocol: 'http:',
      hostname: req.host,
      path,
      query,
      headers,
      body: req.body,
    });
    const signed = await this.#signer.sign(request, {
      signingDate: p.signingDate,
      signingRegion: p.region,
      signingService: p.service,
      signableHeaders: new Set(p.signedHeaders),
      unsignableHeaders: new Set(),
    });
    return /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  }
}

function splitPath(raw: string): [string, Record<string, string | string[]>] {
  const i = raw.indexOf('?');
  if (i < 0) return [raw, {}];
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(raw.slice(i + 1))) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return [raw.slice(0, i), query];
}
