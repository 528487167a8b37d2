/**
 * SigV4 verification for the proxy (spec Appendix A: service `kms-xks-proxy`, the Region
 * KMS calls from, at least `host` and `x-amz-date` signed). Reuses keyhold's verifier
 * (src/auth/sigv4.ts: @smithy/signature-v4 over the client's SignedHeaders, constant-time
 * compare, clock skew) and turns its failures into AuthenticationFailedException.
 *
 * Several credentials are live at once so that KMS's credential can be rotated (spec:
 * "SigV4 Credentials Rotation"); `setCredentials` swaps the set atomically without a restart.
 */
import {
  checkScope,
  parseAuthorization,
  SigV4Verifier,
  type SignedRequest,
} from '../auth/sigv4.js';
import type { XksCredential } from './config.js';
import { xksError } from './errors.js';

export const XKS_SIGNING_SERVICE = 'kms-xks-proxy';

interface Live {
  verifier: SigV4Verifier;
  createdAt: Date;
}

export class CredentialSet {
  #live = new Map<string, Live>();
  readonly #regions: readonly string[];
  readonly #maxSkewSeconds: number;

  constructor(
    credentials: readonly XksCredential[],
    regions: readonly string[],
    maxSkewSeconds: number,
  ) {
    this.#regions = regions;
    this.#maxSkewSeconds = maxSkewSeconds;
    this.setCredentials(credentials);
  }

  /** Replace the live credentials (rotation); credentials already known keep their age. */
  setCredentials(credentials: readonly XksCredential[]): void {
    const next = new Map<string, Live>();
    for (const c of credentials) {
      const prev = this.#live.get(c.accessKeyId);
      next.set(c.accessKeyId, {
        verifier: new SigV4Verifier(c.accessKeyId, c.secretAccessKey),
        createdAt: c.createdAt ?? prev?.createdAt ?? new Date(),
      });
    }
    this.#live = next;
  }

  /** Access key ids and issue times (never secrets), for metrics. */
  describe(): { accessKeyId: string; createdAt: Date }[] {
    return [...this.#live].map(([accessKeyId, l]) => ({ accessKeyId, createdAt: l.createdAt }));
  }

  /** Verify the request's signature; returns the access key id that signed it. */
  async verify(req: SignedRequest, now: Date = new Date()): Promise<string> {
    let accessKeyId: string;
    try {
      const p = parseAuthorization(req);
      accessKeyId = p.accessKeyId;
      const live = this.#live.get(p.accessKeyId);
      /* Precondition: the access key id is one of the configured credentials. */
      if (live === undefined) throw new Error(`unknown access key id`);
      /* Precondition: host and x-amz-date are signed (spec Appendix A). */
      if (!p.signedHeaders.includes('x-amz-date')) throw new Error('x-amz-date must be signed');
      checkScope(
        p,
        this.#regions.length > 0 ? this.#regions : [p.region],
        now,
        this.#maxSkewSeconds,
        XKS_SIGNING_SERVICE,
      );
      await live.verifier.verify(req, p);
    } catch (err) {
      throw xksError(
        'AuthenticationFailedException',
        `SigV4 authentication failed: ${(err as Error).message}`.slice(0, 500),
      );
    }
    return accessKeyId;
  }
}
