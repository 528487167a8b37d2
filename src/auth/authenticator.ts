/**
 * Turns a signed request into a Principal: looks up the access key, opens its sealed
 * secret (once, then cached with its SigV4 verifier), and verifies the signature.
 *
 * The cache is never the only word on revocation: before each request it catches up on
 * the invalidation channel (other processes' and nodes' deletions), and while that channel
 * may lose messages (a PostgreSQL LISTEN connection that is down) every credential is
 * confirmed against storage.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Hsm } from '../hsm/hsm.js';
import { kmsError } from '../errors/aws-errors.js';
import type { IamUserRecord, SessionRecord } from '../storage/iam-repository.js';
import type { AccessKeyRepository } from '../storage/repository.js';
import { principalFromArn, type Principal } from './principal.js';
import {
  checkScope,
  parseAuthorization,
  requireSignedAmzHeaders,
  SigV4Verifier,
  type ParsedAuthorization,
  type SignedRequest,
} from './sigv4.js';

/** A known access key: its principal and verifier (opaque outside this module). */
export interface Credential {
  readonly principal: Principal;
  verifier: SigV4Verifier;
  /** STS sessions only: SHA-256 of the session token, and when the session ends. */
  tokenHash?: Buffer | undefined;
  expiration?: Date | undefined;
}

/** What the authenticator reads about IAM users and STS sessions (IamRepository). */
export interface IdentityLookup {
  getUser(arn: string): Promise<IamUserRecord | undefined>;
  getSession(accessKeyId: string): Promise<SessionRecord | undefined>;
}

/** Sessions are many and short-lived: bound their part of the cache. */
const MAX_CACHED_SESSIONS = 10_000;

export interface AuthenticatorOptions {
  regions: readonly string[];
  maxSkewSeconds: number;
  now: () => Date;
  /** Where deletions made elsewhere arrive (see storage/invalidation.ts). */
  invalidations?: { catchUp(): void; readonly live: boolean } | undefined;
}

/** An authenticated caller and the Region its request was signed for. */
export interface Caller {
  principal: Principal;
  region: string;
}

/** Headers that passed every check but the signature itself (`checkHeaders`). */
export interface CheckedHeaders extends Readonly<Caller> {
  readonly parsed: ParsedAuthorization;
  /** The signing service the headers were checked for. */
  readonly service: string;
  readonly credential: Credential;
}

const INVALID_TOKEN = 'The security token included in the request is invalid.';
const EXPIRED_TOKEN = 'The security token included in the request is expired';

export class Authenticator {
  readonly #repo: AccessKeyRepository;
  readonly #hsm: Hsm;
  readonly #opts: AuthenticatorOptions;
  readonly #cache = new Map<string, Credential>();
  readonly #sessions = new Map<string, Credential>();
  readonly #identities: IdentityLookup | undefined;

  constructor(
    repo: AccessKeyRepository,
    hsm: Hsm,
    opts: AuthenticatorOptions,
    identities?: IdentityLookup,
  ) {
    this.#repo = repo;
    this.#hsm = hsm;
    this.#opts = opts;
    this.#identities = identities;
  }

  /**
   * Verify SigV4 and return the caller; throws the AWS authentication errors. `service` is
   * the signing name the endpoint routed the request to (`kms`, or `sts` for STS Query).
   */
  async authenticate(req: SignedRequest, service = 'kms'): Promise<Caller> {
    const { parsed, cred } = await this.#checkHeaders(req, service);
    await cred.verifier.verify(req, parsed);
    return { principal: cred.principal, region: parsed.region };
  }

  /**
   * Everything `authenticate` checks that needs no body (Authorization form, signed headers,
   * access key, session token, scope, clock skew): run before a body is read, so a caller
   * that cannot authenticate gets its error without the server buffering its body.
   * `verifySignature` finishes what it returns once the body is there.
   */
  async checkHeaders(req: Omit<SignedRequest, 'body'>, service = 'kms'): Promise<CheckedHeaders> {
    const { parsed, cred } = await this.#checkHeaders(req, service);
    return { principal: cred.principal, region: parsed.region, parsed, service, credential: cred };
  }

  /**
   * The signature over the whole request, body included, of headers `checkHeaders` passed.
   * The header checks are not run again, but what may have changed while the body arrived
   * is judged anew: deletions delivered meanwhile (a credential dropped from the cache, or
   * any while the invalidation channel may lose messages, is checked again in full from
   * storage), the session's expiry and the clock skew.
   */
  async verifySignature(checked: CheckedHeaders, req: SignedRequest): Promise<Caller> {
    const channel = this.#opts.invalidations;
    channel?.catchUp();
    const { parsed, credential: cred, service } = checked;
    const id = parsed.accessKeyId;
    const cached = id.startsWith('ASIA') ? this.#sessions.get(id) : this.#cache.get(id);
    if (cached !== cred || (channel !== undefined && !channel.live))
      return this.authenticate(req, service);
    const now = this.#opts.now();
    if (cred.expiration !== undefined && now.getTime() >= cred.expiration.getTime())
      throw kmsError('ExpiredTokenException', EXPIRED_TOKEN);
    checkScope(parsed, this.#opts.regions, now, this.#opts.maxSkewSeconds, service);
    await cred.verifier.verify(req, parsed);
    return { principal: cred.principal, region: parsed.region };
  }

  async #checkHeaders(
    req: Omit<SignedRequest, 'body'>,
    service: string,
  ): Promise<{ parsed: ParsedAuthorization; cred: Credential }> {
    const parsed = parseAuthorization(req);
    requireSignedAmzHeaders(req, parsed);
    const token = req.headers['x-amz-security-token'];
    const channel = this.#opts.invalidations;
    channel?.catchUp();
    // Messages may be lost right now: do not trust the cache for this key.
    if (channel !== undefined && !channel.live) this.forget(parsed.accessKeyId);
    const cred = parsed.accessKeyId.startsWith('ASIA')
      ? await this.#session(parsed.accessKeyId)
      : await this.#credential(parsed.accessKeyId);
    /* Precondition: the access key is known. */
    if (cred === undefined) throw kmsError('UnrecognizedClientException', INVALID_TOKEN);
    if (cred.tokenHash === undefined) {
      /* Precondition: long-term keys carry no session token. */
      if (token !== undefined) throw kmsError('UnrecognizedClientException', INVALID_TOKEN);
    } else {
      /* Precondition: a session key comes with its session token (hashes compared in constant time). */
      const given =
        typeof token === 'string' ? createHash('sha256').update(token, 'utf8').digest() : undefined;
      if (given === undefined || !timingSafeEqual(given, cred.tokenHash))
        throw kmsError('UnrecognizedClientException', INVALID_TOKEN);
    }
    const now = this.#opts.now();
    /* Precondition: the session has not expired (the token is judged before the signature). */
    if (cred.expiration !== undefined && now.getTime() >= cred.expiration.getTime())
      throw kmsError('ExpiredTokenException', EXPIRED_TOKEN);
    checkScope(parsed, this.#opts.regions, now, this.#opts.maxSkewSeconds, service);
    return { parsed, cred };
  }

  /** Drop every cached credential (another node changed credentials we may have missed). */
  forgetAll(): void {
    this.#cache.clear();
    this.#sessions.clear();
  }

  /** Drop every cached credential of a user, or every session of a role (it was deleted). */
  forgetPrincipal(arn: string): void {
    for (const map of [this.#cache, this.#sessions])
      for (const [id, c] of map)
        if (c.principal.arn === arn || c.principal.roleArn === arn) map.delete(id);
  }

  /** Drop a cached credential (after its access key or user is deleted). */
  forget(accessKeyId: string): void {
    this.#cache.delete(accessKeyId);
    this.#sessions.delete(accessKeyId);
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
    let userId: string | undefined;
    if (this.#identities !== undefined && rec.principalArn.includes(':user/')) {
      // A user's key is valid only while the user exists; aws:userid is its unique id.
      const user = await this.#identities.getUser(rec.principalArn);
      if (user === undefined) return undefined;
      userId = user.userId;
    }
    const secret = this.#hsm.openSecret(`access-key/${accessKeyId}`, rec.sealedSecret);
    const cred: Credential = {
      principal: principalFromArn(rec.principalArn, accessKeyId, userId),
      verifier: new SigV4Verifier(accessKeyId, secret.toString('utf8')),
    };
    secret.fill(0);
    this.#cache.set(accessKeyId, cred);
    return cred;
  }

  async #session(accessKeyId: string): Promise<Credential | undefined> {
    const hit = this.#sessions.get(accessKeyId);
    if (hit !== undefined) return hit;
    const rec = await this.#identities?.getSession(accessKeyId);
    if (rec === undefined) return undefined;
    const secret = this.#hsm.openSecret(`access-key/${accessKeyId}`, rec.sealedSecret);
    const cred: Credential = {
      principal: {
        accountId: rec.accountId,
        arn: rec.assumedRoleArn,
        type: 'AssumedRole',
        accessKeyId,
        userId: `${rec.roleId}:${rec.sessionName}`,
        roleArn: rec.roleArn,
      },
      verifier: new SigV4Verifier(accessKeyId, secret.toString('utf8')),
      tokenHash: rec.tokenHash,
      expiration: rec.expiration,
    };
    secret.fill(0);
    if (this.#sessions.size >= MAX_CACHED_SESSIONS) {
      const now = this.#opts.now().getTime();
      for (const [id, c] of this.#sessions)
        if ((c.expiration?.getTime() ?? 0) <= now) this.#sessions.delete(id);
      // Still full: drop the oldest entry (Map keeps insertion order).
      const oldest = this.#sessions.keys().next();
      if (this.#sessions.size >= MAX_CACHED_SESSIONS && oldest.done !== true)
        this.#sessions.delete(oldest.value);
    }
    this.#sessions.set(accessKeyId, cred);
    return cred;
  }
}
