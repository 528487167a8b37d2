/**
 * SQLite adapter of IamRepository (tables from migration 003). Statements are prepared once;
 * getIdentityPolicies is one primary-key range scan on iam_policies. Every change that can
 * alter a credential or an authorization decision appends to the change log in its own
 * transaction (the same messages the PostgreSQL adapter NOTIFYs).
 */
import type BetterSqlite3 from 'better-sqlite3';
import type {
  IamAccountRecord,
  IamPolicyRecord,
  IamRepository,
  IamRoleRecord,
  IamUserRecord,
  IdentityPolicyPrincipal,
  SessionRecord,
} from '../iam-repository.js';
import { DuplicateKeyError, type AccessKeyRecord } from '../repository.js';
import { encodeBindings, optionalBindings } from '../principal-bindings.js';
import type { SqliteChangeLog } from './sqlite-change-log.js';
import { sqliteExecutor, type SqliteExecutor } from '../sql/executor.js';
import * as accessKeySql from '../sql/access-keys.js';

type Row = Record<string, unknown>;

export class SqliteIamRepository implements IamRepository {
  readonly kind = 'iam';
  readonly #s: ReturnType<typeof prepare>;
  /** The queries written once for both adapters (src/storage/sql/). */
  readonly #sql: SqliteExecutor;
  readonly #deleteUser: (arn: string) => boolean;
  readonly #deleteRole: (arn: string) => boolean;
  readonly #changed: <T>(payloads: string[], fn: () => T) => T;

  constructor(
    readonly db: BetterSqlite3.Database,
    log: SqliteChangeLog,
  ) {
    const s = prepare(db);
    this.#s = s;
    this.#sql = sqliteExecutor(db);
    this.#changed = <T>(payloads: string[], fn: () => T): T =>
      db.transaction(() => {
        const out = fn();
        for (const p of payloads) log.record(p);
        return out;
      })();
    this.#deleteUser = db.transaction((arn: string) => {
      s.deletePoliciesOf.run(arn);
      for (const k of s.accessKeysOf.all(arn) as Row[]) log.record(`ak:${String(k.access_key_id)}`);
      s.deleteAccessKeysOf.run(arn);
      log.record('iam');
      return s.deletePrincipal.run(arn, 'user').changes > 0;
    });
    this.#deleteRole = db.transaction((arn: string) => {
      s.deletePoliciesOf.run(arn);
      for (const x of s.sessionIdsOf.all(arn) as Row[]) log.record(`ak:${String(x.access_key_id)}`);
      s.deleteSessionsOf.run(arn);
      log.record('iam');
      return s.deletePrincipal.run(arn, 'role').changes > 0;
    });
  }

  async putAccount(a: IamAccountRecord): Promise<void> {
    this.#s.putAccount.run(a.accountId, a.createdAt.getTime());
  }

  async getAccount(accountId: string): Promise<IamAccountRecord | undefined> {
    const r = this.#s.getAccount.get(accountId) as Row | undefined;
    return r === undefined ? undefined : rowToAccount(r);
  }

  async listAccounts(): Promise<IamAccountRecord[]> {
    return (this.#s.listAccounts.all() as Row[]).map(rowToAccount);
  }

  async createUser(u: IamUserRecord): Promise<void> {
    this.#insertPrincipal(u.arn, {
      arn: u.arn,
      account_id: u.accountId,
      kind: 'user',
      name: u.name,
      path: u.path,
      unique_id: u.userId,
      trust_policy: null,
      trust_policy_principals: null,
      max_session_duration: null,
      description: null,
      created_at: u.createdAt.getTime(),
    });
  }

  async getUser(arn: string): Promise<IamUserRecord | undefined> {
    const r = this.#s.getPrincipal.get(arn, 'user') as Row | undefined;
    return r === undefined ? undefined : rowToUser(r);
  }

  async getUserByName(accountId: string, name: string): Promise<IamUserRecord | undefined> {
    const r = this.#s.getByName.get(accountId, 'user', name) as Row | undefined;
    return r === undefined ? undefined : rowToUser(r);
  }

  async listUsers(accountId?: string): Promise<IamUserRecord[]> {
    const rows =
      accountId === undefined
        ? this.#s.listAllPrincipals.all('user')
        : this.#s.listPrincipals.all(accountId, 'user');
    return (rows as Row[]).map(rowToUser);
  }

  async deleteUser(arn: string): Promise<boolean> {
    return this.#deleteUser(arn);
  }

  async createRole(r: IamRoleRecord): Promise<void> {
    this.#insertPrincipal(r.arn, {
      arn: r.arn,
      account_id: r.accountId,
      kind: 'role',
      name: r.name,
      path: r.path,
      unique_id: r.roleId,
      trust_policy: r.trustPolicy,
      trust_policy_principals: encodeBindings(r.trustPolicyPrincipals),
      max_session_duration: r.maxSessionDuration,
      description: r.description,
      created_at: r.createdAt.getTime(),
    });
  }

  async getRole(arn: string): Promise<IamRoleRecord | undefined> {
    const r = this.#s.getPrincipal.get(arn, 'role') as Row | undefined;
    return r === undefined ? undefined : rowToRole(r);
  }

  async getRoleByName(accountId: string, name: string): Promise<IamRoleRecord | undefined> {
    const r = this.#s.getByName.get(accountId, 'role', name) as Row | undefined;
    return r === undefined ? undefined : rowToRole(r);
  }

  async listRoles(accountId?: string): Promise<IamRoleRecord[]> {
    const rows =
      accountId === undefined
        ? this.#s.listAllPrincipals.all('role')
        : this.#s.listPrincipals.all(accountId, 'role');
    return (rows as Row[]).map(rowToRole);
  }

  async updateRole(r: IamRoleRecord): Promise<boolean> {
    return this.#changed(
      ['iam'],
      () =>
        this.#s.updateRole.run(
          r.trustPolicy,
          encodeBindings(r.trustPolicyPrincipals),
          r.maxSessionDuration,
          r.description,
          r.arn,
        ).changes > 0,
    );
  }

  async deleteRole(arn: string): Promise<boolean> {
    return this.#deleteRole(arn);
  }

  async putPolicy(p: IamPolicyRecord): Promise<void> {
    this.#changed(['iam'], () => this.#s.putPolicy.run(p.principalArn, p.policyName, p.document));
  }

  async getPolicy(principalArn: string, policyName: string): Promise<IamPolicyRecord | undefined> {
    const r = this.#s.getPolicy.get(principalArn, policyName) as Row | undefined;
    return r === undefined ? undefined : rowToPolicy(r);
  }

  async listPolicies(principalArn: string): Promise<IamPolicyRecord[]> {
    return (this.#s.listPolicies.all(principalArn) as Row[]).map(rowToPolicy);
  }

  async deletePolicy(principalArn: string, policyName: string): Promise<boolean> {
    return this.#changed(
      ['iam'],
      () => this.#s.deletePolicy.run(principalArn, policyName).changes > 0,
    );
  }

  async getIdentityPolicies(p: IdentityPolicyPrincipal): Promise<string[]> {
    const owner = p.type === 'AssumedRole' ? p.roleArn : p.type === 'IAMUser' ? p.arn : undefined;
    if (owner === undefined) return [];
    return (this.#s.policyTexts.all(owner) as Row[]).map((r) => String(r.document));
  }

  async listAccessKeysForPrincipal(principalArn: string): Promise<AccessKeyRecord[]> {
    return this.#sql.query(accessKeySql.listAccessKeysForPrincipal(principalArn));
  }

  async deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return this.#changed([`ak:${accessKeyId}`], () =>
      this.#sql.query(accessKeySql.deleteAccessKey(accessKeyId)),
    );
  }

  async putSession(x: SessionRecord): Promise<void> {
    this.#s.putSession.run(
      x.accessKeyId,
      x.accountId,
      x.sealedSecret,
      x.tokenHash,
      x.roleArn,
      x.roleId,
      x.sessionName,
      x.assumedRoleArn,
      x.expiration.getTime(),
      x.createdAt.getTime(),
    );
  }

  async getSession(accessKeyId: string): Promise<SessionRecord | undefined> {
    const r = this.#s.getSession.get(accessKeyId) as Row | undefined;
    if (r === undefined) return undefined;
    return {
      accessKeyId: String(r.access_key_id),
      accountId: String(r.account_id),
      sealedSecret: r.sealed_secret as Buffer,
      tokenHash: r.token_hash as Buffer,
      roleArn: String(r.role_arn),
      roleId: String(r.role_id),
      sessionName: String(r.session_name),
      assumedRoleArn: String(r.assumed_role_arn),
      expiration: new Date(Number(r.expiration)),
      createdAt: new Date(Number(r.created_at)),
    };
  }

  async deleteExpiredSessions(before: Date): Promise<number> {
    return this.#s.deleteExpiredSessions.run(before.getTime()).changes;
  }

  #insertPrincipal(arn: string, row: Row): void {
    try {
      this.#changed(['iam'], () => this.#s.insertPrincipal.run(row));
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(`principal ${arn}`);
      throw err;
    }
  }
}

function prepare(db: BetterSqlite3.Database) {
  return {
    putAccount: db.prepare(
      'INSERT INTO iam_accounts (account_id, created_at) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING',
    ),
    getAccount: db.prepare('SELECT * FROM iam_accounts WHERE account_id = ?'),
    listAccounts: db.prepare('SELECT * FROM iam_accounts ORDER BY account_id'),
    insertPrincipal: db.prepare(
      'INSERT INTO iam_principals (arn, account_id, kind, name, path, unique_id, trust_policy, trust_policy_principals, max_session_duration, description, created_at) VALUES (@arn, @account_id, @kind, @name, @path, @unique_id, @trust_policy, @trust_policy_principals, @max_session_duration, @description, @created_at)',
    ),
    getPrincipal: db.prepare('SELECT * FROM iam_principals WHERE arn = ? AND kind = ?'),
    getByName: db.prepare(
      'SELECT * FROM iam_principals WHERE account_id = ? AND kind = ? AND name = ? COLLATE NOCASE',
    ),
    listPrincipals: db.prepare(
      'SELECT * FROM iam_principals WHERE account_id = ? AND kind = ? ORDER BY name COLLATE NOCASE',
    ),
    listAllPrincipals: db.prepare(
      'SELECT * FROM iam_principals WHERE kind = ? ORDER BY account_id, name COLLATE NOCASE',
    ),
    updateRole: db.prepare(
      "UPDATE iam_principals SET trust_policy = ?, trust_policy_principals = ?, max_session_duration = ?, description = ? WHERE arn = ? AND kind = 'role'",
    ),
    deletePrincipal: db.prepare('DELETE FROM iam_principals WHERE arn = ? AND kind = ?'),
    putPolicy: db.prepare(
      'INSERT INTO iam_policies (principal_arn, policy_name, document) VALUES (?, ?, ?) ON CONFLICT (principal_arn, policy_name) DO UPDATE SET document = excluded.document',
    ),
    getPolicy: db.prepare('SELECT * FROM iam_policies WHERE principal_arn = ? AND policy_name = ?'),
    listPolicies: db.prepare(
      'SELECT * FROM iam_policies WHERE principal_arn = ? ORDER BY policy_name',
    ),
    policyTexts: db.prepare(
      'SELECT document FROM iam_policies WHERE principal_arn = ? ORDER BY policy_name',
    ),
    deletePolicy: db.prepare(
      'DELETE FROM iam_policies WHERE principal_arn = ? AND policy_name = ?',
    ),
    deletePoliciesOf: db.prepare('DELETE FROM iam_policies WHERE principal_arn = ?'),
    accessKeysOf: db.prepare(
      'SELECT * FROM access_keys WHERE principal_arn = ? ORDER BY access_key_id',
    ),
    deleteAccessKeysOf: db.prepare('DELETE FROM access_keys WHERE principal_arn = ?'),
    putSession: db.prepare(
      'INSERT INTO sts_sessions (access_key_id, account_id, sealed_secret, token_hash, role_arn, role_id, session_name, assumed_role_arn, expiration, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    getSession: db.prepare('SELECT * FROM sts_sessions WHERE access_key_id = ?'),
    deleteSessionsOf: db.prepare('DELETE FROM sts_sessions WHERE role_arn = ?'),
    sessionIdsOf: db.prepare('SELECT access_key_id FROM sts_sessions WHERE role_arn = ?'),
    deleteExpiredSessions: db.prepare('DELETE FROM sts_sessions WHERE expiration <= ?'),
  };
}

function rowToAccount(r: Row): IamAccountRecord {
  return { accountId: String(r.account_id), createdAt: new Date(Number(r.created_at)) };
}

function rowToUser(r: Row): IamUserRecord {
  return {
    accountId: String(r.account_id),
    name: String(r.name),
    path: String(r.path),
    arn: String(r.arn),
    userId: String(r.unique_id),
    createdAt: new Date(Number(r.created_at)),
  };
}

function rowToRole(r: Row): IamRoleRecord {
  return {
    accountId: String(r.account_id),
    name: String(r.name),
    path: String(r.path),
    arn: String(r.arn),
    roleId: String(r.unique_id),
    trustPolicy: String(r.trust_policy),
    ...optionalBindings(r.trust_policy_principals),
    maxSessionDuration: Number(r.max_session_duration),
    description: r.description === null ? '' : String(r.description),
    createdAt: new Date(Number(r.created_at)),
  };
}

function rowToPolicy(r: Row): IamPolicyRecord {
  return {
    principalArn: String(r.principal_arn),
    policyName: String(r.policy_name),
    document: String(r.document),
  };
}

function isUniqueViolation(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    'code' in err &&
    (err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err.code === 'SQLITE_CONSTRAINT_UNIQUE')
  );
}
