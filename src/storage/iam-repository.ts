/**
 * IAM identities storage contract: accounts, users, roles (with trust policies), inline
 * identity policies and STS sessions. No I/O here. Long-term access keys of users live in the
 * access_keys table (AccessKeyRepository); the two access-key helpers below work on it by
 * principal.
 */
import type { AccessKeyRecord } from './repository.js';

export interface IamAccountRecord {
  accountId: string;
  createdAt: Date;
}

export interface IamUserRecord {
  accountId: string;
  name: string;
  /** `/` or `/division/` (IAM paths begin and end with `/`). */
  path: string;
  /** arn:aws:iam::<acct>:user<path><name> */
  arn: string;
  /** AIDA… unique id (aws:userid). */
  userId: string;
  createdAt: Date;
}

export interface IamRoleRecord {
  accountId: string;
  name: string;
  path: string;
  /** arn:aws:iam::<acct>:role<path><name> */
  arn: string;
  /** AROA… unique id. */
  roleId: string;
  /** The trust policy (AssumeRolePolicyDocument) as JSON text. */
  trustPolicy: string;
  /** The user/role ARNs the trust policy named, bound to their unique ids when saved. */
  trustPolicyPrincipals?: Readonly<Record<string, string>> | undefined;
  /** Seconds, 3600–43200 (IAM default 3600). */
  maxSessionDuration: number;
  description: string;
  createdAt: Date;
}

export interface IamPolicyRecord {
  /** The user or role the inline policy is attached to. */
  principalArn: string;
  policyName: string;
  document: string;
}

/** An STS session (temporary credentials). The session token itself is never stored. */
export interface SessionRecord {
  /** ASIA… */
  accessKeyId: string;
  accountId: string;
  sealedSecret: Buffer;
  /** SHA-256 of the session token. */
  tokenHash: Buffer;
  roleArn: string;
  roleId: string;
  sessionName: string;
  /** arn:aws:sts::<acct>:assumed-role/<role>/<session> */
  assumedRoleArn: string;
  expiration: Date;
  createdAt: Date;
}

/** The caller as the authorizer knows it (a subset of auth/Principal). */
export interface IdentityPolicyPrincipal {
  type: 'Root' | 'IAMUser' | 'AssumedRole';
  arn: string;
  accountId: string;
  /** For an assumed-role session: the role's ARN. */
  roleArn?: string | undefined;
}

export interface IamRepository {
  readonly kind: 'iam';

  /** Idempotent: an existing account keeps its creation time. */
  putAccount(account: IamAccountRecord): Promise<void>;
  getAccount(accountId: string): Promise<IamAccountRecord | undefined>;
  listAccounts(): Promise<IamAccountRecord[]>;

  /** Throws DuplicateKeyError when the name (case-insensitive) or ARN exists. */
  createUser(user: IamUserRecord): Promise<void>;
  getUser(arn: string): Promise<IamUserRecord | undefined>;
  getUserByName(accountId: string, name: string): Promise<IamUserRecord | undefined>;
  /** Users ordered by name; all accounts when accountId is undefined. */
  listUsers(accountId?: string): Promise<IamUserRecord[]>;
  /** Deletes the user with its inline policies and access keys, atomically. */
  deleteUser(arn: string): Promise<boolean>;

  /** Throws DuplicateKeyError when the name (case-insensitive) or ARN exists. */
  createRole(role: IamRoleRecord): Promise<void>;
  getRole(arn: string): Promise<IamRoleRecord | undefined>;
  getRoleByName(accountId: string, name: string): Promise<IamRoleRecord | undefined>;
  listRoles(accountId?: string): Promise<IamRoleRecord[]>;
  /** Replace trust policy / max session duration / description; false if gone. */
  updateRole(role: IamRoleRecord): Promise<boolean>;
  /** Deletes the role with its inline policies and sessions, atomically. */
  deleteRole(arn: string): Promise<boolean>;

  /** Upsert (same principal + name → new document). */
  putPolicy(policy: IamPolicyRecord): Promise<void>;
  getPolicy(principalArn: string, policyName: string): Promise<IamPolicyRecord | undefined>;
  /** The principal's inline policies ordered by name. */
  listPolicies(principalArn: string): Promise<IamPolicyRecord[]>;
  deletePolicy(principalArn: string, policyName: string): Promise<boolean>;

  /**
   * The identity-policy texts that apply to a caller: the user's inline policies, or the
   * role's for an assumed-role session; `[]` for the account root. One indexed query.
   */
  getIdentityPolicies(principal: IdentityPolicyPrincipal): Promise<string[]>;

  /** Long-term access keys (access_keys table) of one principal, by key id. */
  listAccessKeysForPrincipal(principalArn: string): Promise<AccessKeyRecord[]>;
  deleteAccessKey(accessKeyId: string): Promise<boolean>;

  putSession(session: SessionRecord): Promise<void>;
  getSession(accessKeyId: string): Promise<SessionRecord | undefined>;
  /** Remove sessions whose expiration is at or before `before`; returns how many. */
  deleteExpiredSessions(before: Date): Promise<number>;
}
