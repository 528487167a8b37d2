/**
 * Turns a signed request into a Principal: looks up the access key, opens its sealed
 * secret (once, then cached with its SigV4 verifier), and verifies the signature.
 */
import { randomBytes } from 'node:crypto';
import type { Hsm } from '../hsm/hsm.js';
import { kmsError } from '../protocol/errors.js';
import type { AccessKeyRepository } from '../storage/repository.js';
import { principalFromArn, type Principal } from './principal.js';
import { checkScope, parseAuthorization, SigV4Verifier, type SignedRequest } from './sigv4.js';

interface Credential {
  principal: Principal;
  verifier: SigV4Verifier;
}

export interface AuthenticatorOptions {
  regions: readonly string[];
  maxSkewSeconds: number;
  now: () => Date;
}

const INVALID_TOKEN = 'The security token included in the request is invalid.';

export class Authenticator {
  readonly #repo: AccessKeyRepository;
  readonly #hsm: Hsm;
  readonly #opts: AuthenticatorOptions;
  readonly #cache = new Map<string, Credential>();

  constructor(repo: AccessKeyRepository, hsm: Hsm, opts: AuthenticatorOptions) {
    this.#repo = repo;
    this.#hsm = hsm;
    this.#opts = opts;
  }

  /** Verify SigV4 and return the caller; throws the AWS authentication errors. */
  async authenticate(req: SignedRequest): Promise<{ principal: Principal; region: string }> {
    const parsed = parseAuthorization(req);
    const cred = await this.#credential(parsed.accessKeyId);
    /* Precondition: the access key is known. */
    if (cred === undefined) throw kmsError('UnrecognizedClientException', INVALID_TOKEN);
    /* Precondition: long-term keys carry no session token. */
    if (req.headers['x-amz-security-token'] !== undefined)
      throw kmsError('UnrecognizedClientException', INVALID_TOKEN);
    checkScope(parsed, this.#opts.regions, this.#opts.now(), this.#opts.maxSkewSeconds);
    await cred.verifier.verify(req, parsed);
    return { principal: cred.principal, region: parsed.region };
  }

  /** Store an access key for a principal, its secret sealed under the key hierarchy. */
  async putAccessKey(
    accessKeyId: string,
    secret: string,
    principalArn: string,
    now: Date,
  ): Promise<void> {
    const principal = principalFromArn(principalArn, accessKeyId);
    await this.#repo.putAccessKey({
      accessKeyId,
      accountId: principal.accountId,
      principalArn,
      sealedSecret: this.#hsm.sealSecret(`access-key/${accessKeyId}`, Buffer.from(secret, 'utf8')),
      createdAt: now,
    });
    this.#cache.delete(accessKeyId);
  }

  /** A fresh AWS-shaped key pair (AKIA + 16, 40-character secret). */
  static generateKeyPair(): { accessKeyId: string; secretAccessKey: string } {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const id = [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
    const secretAccessKey = randomBytes(30)
      .toString('base64')
      .replace(/\+/g, 'A')
      .replace(/\//g, 'B');
    return { accessKeyId: `AKIA${id}`, secretAccessKey };
  }

  async #credential(accessKeyId: string): Promise<Credential | undefined> {
    const hit = this.#cache.get(accessKeyId);
    if (hit !== undefined) return hit;
    const rec = await this.#repo.getAccessKey(accessKeyId);
    if (rec === undefined) return undefined;
    const secret = this.#hsm.openSecret(`access-key/${accessKeyId}`, rec.sealedSecret);
    const cred: Credential = {
      principal: principalFromArn(rec.principalArn, accessKeyId),
      verifier: new SigV4Verifier(accessKeyId, secret.toString('utf8')),
    };
    secret.fill(0);
    this.#cache.set(accessKeyId, cred);
    return cred;
  }
}
