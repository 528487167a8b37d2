/**
 * The identity service: accounts, IAM users and roles, their access keys and inline
 * policies. Both the seed-file loader and the admin API go through here, so validation
 * (IAM's name patterns and quotas, policy grammar) lives in one place.
 */
import { randomBytes } from 'node:crypto';
import { Authenticator } from '../auth/authenticator.js';
import type { Clock } from '../config/clock.js';
import type { IamRoleRecord, IamUserRecord } from '../storage/iam-repository.js';
import { DuplicateKeyError, type Storage } from '../storage/repository.js';
import { iamError, toIamError } from '../errors/iam-errors.js';
import { parseCached } from './evaluate.js';
import { bindDocument, displayPolicy, type PrincipalBindings } from './principal-binding.js';

/** IAM API Reference, CreateUser / CreateRole: `[\w+=,.@-]+`, 1–64 characters. */
const NAME_RE = /^[\w+=,.@-]{1,64}$/;
/** PutUserPolicy PolicyName: `[\w+=,.@-]+`, 1–128. */
const POLICY_NAME_RE = /^[\w+=,.@-]{1,128}$/;
/** Path: `/` or `/…/` of printable ASCII, at most 512 characters. */
const PATH_RE = /^(\/|\/[\x21-\x7E]+\/)$/;
const ACCOUNT_RE = /^\d{12}$/;
const ACCESS_KEY_RE = /^[A-Z0-9]{16,128}$/;

/** IAM quotas (IAM User Guide "IAM and AWS STS quotas"), whitespace not counted. */
const USER_POLICY_CHARS = 2048;
const ROLE_POLICY_CHARS = 10240;
const TRUST_POLICY_CHARS = 2048;
const ACCESS_KEYS_PER_USER = 2;

export const DEFAULT_MAX_SESSION_DURATION = 3600;

export interface AccessKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export class IdentityService {
  readonly #storage: Storage;
  readonly #authenticator: Authenticator;
  readonly #clock: Clock;

  constructor(storage: Storage, authenticator: Authenticator, clock: Clock) {
    this.#storage = storage;
    this.#authenticator = authenticator;
    this.#clock = clock;
  }

  get #iam() {
    return this.#storage.iam;
  }

  async ensureAccount(accountId: string): Promise<void> {
    if (!ACCOUNT_RE.test(accountId))
      throw iamError('ValidationError', `Account id '${accountId}' must be 12 digits`);
    await this.#iam.putAccount({ accountId, createdAt: this.#clock.now() });
  }

  async listAccounts(): Promise<string[]> {
    return (await this.#iam.listAccounts()).map((a) => a.accountId);
  }

  async createUser(input: {
    accountId: string;
    name: string;
    path?: string;
  }): Promise<IamUserRecord> {
    const path = input.path ?? '/';
    checkName(input.name, 'userName');
    checkPath(path);
    await this.#requireAccount(input.accountId);
    const user: IamUserRecord = {
      accountId: input.accountId,
      name: input.name,
      path,
      arn: `arn:aws:iam::${input.accountId}:user${path}${input.name}`,
      userId: uniqueId('AIDA'),
      createdAt: this.#clock.now(),
    };
    try {
      await this.#iam.createUser(user);
    } catch (err) {
      if (err instanceof DuplicateKeyError)
        throw iamError('EntityAlreadyExists', `User with name ${input.name} already exists.`);
      throw err;
    }
    return user;
  }

  async getUser(arn: string): Promise<IamUserRecord> {
    const u = await this.#iam.getUser(arn);
    if (u === undefined) throw noSuchUser(arn);
    return u;
  }

  async listUsers(accountId?: string): Promise<IamUserRecord[]> {
    return this.#iam.listUsers(accountId);
  }

  /** Deletes the user with its access keys and inline policies. */
  async deleteUser(arn: string): Promise<void> {
    const keys = await this.#iam.listAccessKeysForPrincipal(arn);
    const gone = await this.#iam.deleteUser(arn);
    // Also when nothing was deleted here: another process may have raced us to it.
    for (const k of keys) this.#authenticator.forget(k.accessKeyId);
    this.#authenticator.forgetPrincipal(arn);
    if (!gone) throw noSuchUser(arn);
  }

  /**
   * A new access key for a user (AKIA… + 40-character secret), or the given pair (seed
   * files). The secret is sealed by the authenticator like every access key.
   */
  async createAccessKey(userArn: string, given?: AccessKeyPair): Promise<AccessKeyPair> {
    const user = await this.getUser(userArn);
    const existing = await this.#iam.listAccessKeysForPrincipal(user.arn);
    if (given !== undefined) {
      if (!ACCESS_KEY_RE.test(given.accessKeyId))
        throw iamError(
          'ValidationError',
          'accessKeyId must be 16-128 upper-case letters and digits',
        );
      if (given.secretAccessKey.length < 16)
        throw iamError('ValidationError', 'secretAccessKey must be at least 16 characters');
      const other = await this.#storage.getAccessKey(given.accessKeyId);
      if (other !== undefined && other.principalArn !== user.arn)
        throw iamError(
          'EntityAlreadyExists',
          `Access key ${given.accessKeyId} belongs to another principal.`,
        );
    }
    const replacing =
      given !== undefined && existing.some((k) => k.accessKeyId === given.accessKeyId);
    if (!replacing && existing.length >= ACCESS_KEYS_PER_USER)
      throw iamError(
        'LimitExceeded',
        `Cannot exceed quota for AccessKeysPerUser: ${ACCESS_KEYS_PER_USER}`,
      );
    const pair = given ?? Authenticator.generateKeyPair();
    await this.#authenticator.putAccessKey(
      pair.accessKeyId,
      pair.secretAccessKey,
      user.arn,
      this.#clock.now(),
    );
    return pair;
  }

  async listAccessKeys(userArn: string): Promise<{ accessKeyId: string; createDate: Date }[]> {
    await this.getUser(userArn);
    return (await this.#iam.listAccessKeysForPrincipal(userArn)).map((k) => ({
      accessKeyId: k.accessKeyId,
      createDate: k.createdAt,
    }));
  }

  async deleteAccessKey(accessKeyId: string, userArn?: string): Promise<void> {
    const rec = await this.#storage.getAccessKey(accessKeyId);
    if (
      rec === undefined ||
      (userArn !== undefined && rec.principalArn !== userArn) ||
      !rec.principalArn.includes(':user/')
    )
      throw iamError('NoSuchEntity', `The Access Key with id ${accessKeyId} cannot be found.`);
    await this.#iam.deleteAccessKey(accessKeyId);
    this.#authenticator.forget(accessKeyId);
  }

  async createRole(input: {
    accountId: string;
    name: string;
    path?: string;
    trustPolicy: string;
    maxSessionDuration?: number;
    description?: string;
  }): Promise<IamRoleRecord> {
    const path = input.path ?? '/';
    checkName(input.name, 'roleName');
    checkPath(path);
    const maxSessionDuration = input.maxSessionDuration ?? DEFAULT_MAX_SESSION_DURATION;
    checkMaxSession(maxSessionDuration);
    checkPolicy(input.trustPolicy, 'trust', TRUST_POLICY_CHARS, 'AssumeRolePolicyDocument');
    await this.#requireAccount(input.accountId);
    const role: IamRoleRecord = {
      accountId: input.accountId,
      name: input.name,
      path,
      arn: `arn:aws:iam::${input.accountId}:role${path}${input.name}`,
      roleId: uniqueId('AROA'),
      trustPolicy: input.trustPolicy,
      trustPolicyPrincipals: await this.#bindTrust(input.trustPolicy),
      maxSessionDuration,
      description: input.description ?? '',
      createdAt: this.#clock.now(),
    };
    try {
      await this.#iam.createRole(role);
    } catch (err) {
      if (err instanceof DuplicateKeyError)
        throw iamError('EntityAlreadyExists', `Role with name ${input.name} already exists.`);
      throw err;
    }
    return role;
  }

  async getRole(arn: string): Promise<IamRoleRecord> {
    const r = await this.#iam.getRole(arn);
    if (r === undefined) throw noSuchRole(arn);
    return r;
  }

  async listRoles(accountId?: string): Promise<IamRoleRecord[]> {
    return this.#iam.listRoles(accountId);
  }

  /** Roles as IAM shows them: a trust policy's deleted principals appear as unique ids. */
  async listRolesShown(accountId?: string): Promise<IamRoleRecord[]> {
    const roles = await this.#iam.listRoles(accountId);
    const shown = [];
    for (const r of roles)
      shown.push({
        ...r,
        trustPolicy: await displayPolicy(this.#iam, r.trustPolicy, r.trustPolicyPrincipals),
      });
    return shown;
  }

  async updateRole(
    arn: string,
    change: { trustPolicy?: string; maxSessionDuration?: number; description?: string },
  ): Promise<IamRoleRecord> {
    const role = await this.getRole(arn);
    if (change.trustPolicy !== undefined)
      checkPolicy(change.trustPolicy, 'trust', TRUST_POLICY_CHARS, 'AssumeRolePolicyDocument');
    if (change.maxSessionDuration !== undefined) checkMaxSession(change.maxSessionDuration);
    const next: IamRoleRecord = {
      ...role,
      trustPolicy: change.trustPolicy ?? role.trustPolicy,
      trustPolicyPrincipals:
        change.trustPolicy === undefined
          ? role.trustPolicyPrincipals
          : await this.#bindTrust(change.trustPolicy),
      maxSessionDuration: change.maxSessionDuration ?? role.maxSessionDuration,
      description: change.description ?? role.description,
    };
    if (!(await this.#iam.updateRole(next))) throw noSuchRole(arn);
    return next;
  }

  /** Deletes the role with its inline policies; its sessions end at once. */
  async deleteRole(arn: string): Promise<void> {
    const gone = await this.#iam.deleteRole(arn);
    this.#authenticator.forgetPrincipal(arn);
    if (!gone) throw noSuchRole(arn);
  }

  /** PutUserPolicy / PutRolePolicy: attach (or replace) an inline identity policy. */
  async putPolicy(principalArn: string, policyName: string, document: string): Promise<void> {
    const isUser = principalArn.includes(':user/');
    if (isUser) await this.getUser(principalArn);
    else await this.getRole(principalArn);
    if (!POLICY_NAME_RE.test(policyName))
      throw iamError(
        'ValidationError',
        `1 validation error detected: Value '${policyName}' at 'policyName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
      );
    const limit = isUser ? USER_POLICY_CHARS : ROLE_POLICY_CHARS;
    checkPolicy(document, 'identity', limit, 'PolicyDocument');
    const others = (await this.#iam.listPolicies(principalArn)).filter(
      (p) => p.policyName !== policyName,
    );
    const total = others.reduce((n, p) => n + nonWhitespace(p.document), nonWhitespace(document));
    if (total > limit)
      throw iamError(
        'LimitExceeded',
        `Maximum policy size of ${limit} bytes exceeded for ${isUser ? 'user' : 'role'} ${principalArn.slice(principalArn.lastIndexOf('/') + 1)}`,
      );
    await this.#iam.putPolicy({ principalArn, policyName, document });
  }

  async listPolicies(
    principalArn: string,
  ): Promise<{ policyName: string; policyDocument: string }[]> {
    return (await this.#iam.listPolicies(principalArn)).map((p) => ({
      policyName: p.policyName,
      policyDocument: p.document,
    }));
  }

  async deletePolicy(principalArn: string, policyName: string): Promise<void> {
    if (!(await this.#iam.deletePolicy(principalArn, policyName)))
      throw iamError('NoSuchEntity', `The policy with name ${policyName} cannot be found.`);
  }

  /**
   * Bind the users and roles a trust policy names to their unique ids (as IAM does when it
   * saves the document). A role may trust itself: it is bound once it exists, by the next
   * UpdateAssumeRolePolicy (IAM refuses such a document on CreateRole).
   */
  async #bindTrust(text: string): Promise<PrincipalBindings> {
    return bindDocument(this.#iam, parseCached(text, 'trust'));
  }

  async #requireAccount(accountId: string): Promise<void> {
    if (!ACCOUNT_RE.test(accountId))
      throw iamError('ValidationError', `Account id '${accountId}' must be 12 digits`);
    if ((await this.#iam.getAccount(accountId)) === undefined)
      throw iamError('NoSuchEntity', `The account ${accountId} does not exist in this keyhold.`);
  }
}

/** 21-character IAM unique id: prefix + 17 base32 characters (AIDA…, AROA…). */
export function uniqueId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return prefix + [...randomBytes(17)].map((b) => alphabet[b % 32]).join('');
}

function checkName(name: string, member: string): void {
  if (!NAME_RE.test(name))
    throw iamError(
      'ValidationError',
      `1 validation error detected: Value '${name}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and 64`,
    );
}

function checkPath(path: string): void {
  if (path.length > 512 || !PATH_RE.test(path))
    throw iamError(
      'ValidationError',
      `The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`,
    );
}

function checkMaxSession(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 3600 || seconds > 43200)
    throw iamError(
      'ValidationError',
      `1 validation error detected: Value '${seconds}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`,
    );
}

function nonWhitespace(s: string): number {
  return s.replace(/\s/g, '').length;
}

function checkPolicy(
  text: string,
  kind: 'identity' | 'trust',
  limit: number,
  member: string,
): void {
  if (nonWhitespace(text) > limit)
    throw iamError('LimitExceeded', `Cannot exceed quota for ${member}Size: ${limit}`);
  try {
    parseCached(text, kind);
  } catch (err) {
    const e = toIamError(err);
    if (e.code === 'MalformedPolicyDocument') throw e;
    throw err;
  }
}

function noSuchUser(arn: string) {
  return iamError(
    'NoSuchEntity',
    `The user with name ${arn.slice(arn.lastIndexOf('/') + 1)} cannot be found.`,
  );
}

function noSuchRole(arn: string) {
  return iamError(
    'NoSuchEntity',
    `The role with name ${arn.slice(arn.lastIndexOf('/') + 1)} cannot be found.`,
  );
}
