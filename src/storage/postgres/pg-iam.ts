/**
 * PostgreSQL adapter of IamRepository. Names are unique per account and kind
 * case-insensitively (index on lower(name)); every change that can alter an
 * authorization decision or a credential queues an invalidation NOTIFY.
 */
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
import { changes, isUniqueViolation, type PgDb, type Q } from './pg-db.js';
import { encodeBindings, optionalBindings } from '../principal-bindings.js';
import { ms, notify, type Row } from './pg-rows.js';
import { pgExecutor, type PgExecutor } from '../sql/executor.js';
import * as accessKeySql from '../sql/access-keys.js';

const PRINCIPAL_COLUMNS =
  'arn, account_id, kind, name, path, unique_id, trust_policy, max_session_duration, description, created_at, trust_policy_principals';

export class PgIamRepository implements IamRepository {
  readonly kind = 'iam';

  /** The queries written once for both adapters (src/storage/sql/). */
  readonly #sql: PgExecutor;

  constructor(readonly db: PgDb) {
    this.#sql = pgExecutor(db);
  }

  async putAccount(a: IamAccountRecord): Promise<void> {
    await this.db.query(
      'INSERT INTO iam_accounts (account_id, created_at) VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING',
      [a.accountId, a.createdAt.getTime()],
    );
  }

  async getAccount(accountId: string): Promise<IamAccountRecord | undefined> {
    const r = await this.db.query('SELECT * FROM iam_accounts WHERE account_id = $1', [accountId]);
    const row = r.rows[0];
    return row === undefined ? undefined : rowToAccount(row);
  }

  async listAccounts(): Promise<IamAccountRecord[]> {
    return (await this.db.query('SELECT * FROM iam_accounts ORDER BY account_id')).rows.map(
      rowToAccount,
    );
  }

  async createUser(u: IamUserRecord): Promise<void> {
    await this.#insertPrincipal(u.arn, [
      u.arn,
      u.accountId,
      'user',
      u.name,
      u.path,
      u.userId,
      null,
      null,
      null,
      u.createdAt.getTime(),
      null,
    ]);
  }

  async getUser(arn: string): Promise<IamUserRecord | undefined> {
    const row = await this.#principal(arn, 'user');
    return row === undefined ? undefined : rowToUser(row);
  }

  async getUserByName(accountId: string, name: string): Promise<IamUserRecord | undefined> {
    const row = await this.#byName(accountId, 'user', name);
    return row === undefined ? undefined : rowToUser(row);
  }

  async listUsers(accountId?: string): Promise<IamUserRecord[]> {
    return (await this.#list('user', accountId)).map(rowToUser);
  }

  async deleteUser(arn: string): Promise<boolean> {
    return this.db.tx(async (c) => {
      await c.query('DELETE FROM iam_policies WHERE principal_arn = $1', [arn]);
      const keys = await c.query(
        'DELETE FROM access_keys WHERE principal_arn = $1 RETURNING access_key_id',
        [arn],
      );
      for (const k of keys.rows) await notify(c, `ak:${String(k.access_key_id)}`);
      const gone = changes(
        await c.query("DELETE FROM iam_principals WHERE arn = $1 AND kind = 'user'", [arn]),
      );
      await notify(c, 'iam');
      return gone > 0;
    });
  }

  async createRole(r: IamRoleRecord): Promise<void> {
    await this.#insertPrincipal(r.arn, [
      r.arn,
      r.accountId,
      'role',
      r.name,
      r.path,
      r.roleId,
      r.trustPolicy,
      r.maxSessionDuration,
      r.description,
      r.createdAt.getTime(),
      encodeBindings(r.trustPolicyPrincipals),
    ]);
  }

  async getRole(arn: string): Promise<IamRoleRecord | undefined> {
    const row = await this.#principal(arn, 'role');
    return row === undefined ? undefined : rowToRole(row);
  }

  async getRoleByName(accountId: string, name: string): Promise<IamRoleRecord | undefined> {
    const row = await this.#byName(accountId, 'role', name);
    return row === undefined ? undefined : rowToRole(row);
  }

  async listRoles(accountId?: string): Promise<IamRoleRecord[]> {
    return (await this.#list('role', accountId)).map(rowToRole);
  }

  async updateRole(r: IamRoleRecord): Promise<boolean> {
    return this.db.tx(async (c) => {
      const n = changes(
        await c.query(
          "UPDATE iam_principals SET trust_policy = $1, max_session_duration = $2, description = $3, trust_policy_principals = $5 WHERE arn = $4 AND kind = 'role'",
          [
            r.trustPolicy,
            r.maxSessionDuration,
            r.description,
            r.arn,
            encodeBindings(r.trustPolicyPrincipals),
          ],
        ),
      );
      await notify(c, 'iam');
      return n > 0;
    });
  }

  async deleteRole(arn: string): Promise<boolean> {
    return this.db.tx(async (c) => {
      await c.query('DELETE FROM iam_policies WHERE principal_arn = $1', [arn]);
      const sessions = await c.query(
        'DELETE FROM sts_sessions WHERE role_arn = $1 RETURNING access_key_id',
        [arn],
      );
      for (const s of sessions.rows) await notify(c, `ak:${String(s.access_key_id)}`);
      const gone = changes(
        await c.query("DELETE FROM iam_principals WHERE arn = $1 AND kind = 'role'", [arn]),
      );
      await notify(c, 'iam');
      return gone > 0;
    });
  }

  async putPolicy(p: IamPolicyRecord): Promise<void> {
    await this.db.tx(async (c) => {
      await c.query(
        `INSERT INTO iam_policies (principal_arn, policy_name, document) VALUES ($1, $2, $3)
         ON CONFLICT (principal_arn, policy_name) DO UPDATE SET document = excluded.document`,
        [p.principalArn, p.policyName, p.document],
      );
      await notify(c, 'iam');
    });
  }

  async getPolicy(principalArn: string, policyName: string): Promise<IamPolicyRecord | undefined> {
    const r = await this.db.query(
      'SELECT * FROM iam_policies WHERE principal_arn = $1 AND policy_name = $2',
      [principalArn, policyName],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : rowToPolicy(row);
  }

  async listPolicies(principalArn: string): Promise<IamPolicyRecord[]> {
    const r = await this.db.query(
      'SELECT * FROM iam_policies WHERE principal_arn = $1 ORDER BY policy_name',
      [principalArn],
    );
    return r.rows.map(rowToPolicy);
  }

  async deletePolicy(principalArn: string, policyName: string): Promise<boolean> {
    return this.db.tx(async (c) => {
      const n = changes(
        await c.query('DELETE FROM iam_policies WHERE principal_arn = $1 AND policy_name = $2', [
          principalArn,
          policyName,
        ]),
      );
      await notify(c, 'iam');
      return n > 0;
    });
  }

  async getIdentityPolicies(p: IdentityPolicyPrincipal): Promise<string[]> {
    const owner = p.type === 'AssumedRole' ? p.roleArn : p.type === 'IAMUser' ? p.arn : undefined;
    if (owner === undefined) return [];
    const r = await this.db.query(
      'SELECT document FROM iam_policies WHERE principal_arn = $1 ORDER BY policy_name',
      [owner],
    );
    return r.rows.map((x: Row) => String(x.document));
  }

  async listAccessKeysForPrincipal(principalArn: string): Promise<AccessKeyRecord[]> {
    return this.#sql.query(accessKeySql.listAccessKeysForPrincipal(principalArn));
  }

  async deleteAccessKey(accessKeyId: string): Promise<boolean> {
    return this.db.tx(async (c) => {
      const gone = await this.#sql.query(accessKeySql.deleteAccessKey(accessKeyId), c);
      await notify(c, `ak:${accessKeyId}`);
      return gone;
    });
  }

  async putSession(x: SessionRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO sts_sessions (access_key_id, account_id, sealed_secret, token_hash, role_arn,
         role_id, session_name, assumed_role_arn, expiration, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
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
      ],
    );
  }

  async getSession(accessKeyId: string): Promise<SessionRecord | undefined> {
    const r = await this.db.query('SELECT * FROM sts_sessions WHERE access_key_id = $1', [
      accessKeyId,
    ]);
    const x = r.rows[0];
    if (x === undefined) return undefined;
    return {
      accessKeyId: String(x.access_key_id),
      accountId: String(x.account_id),
      sealedSecret: x.sealed_secret as Buffer,
      tokenHash: x.token_hash as Buffer,
      roleArn: String(x.role_arn),
      roleId: String(x.role_id),
      sessionName: String(x.session_name),
      assumedRoleArn: String(x.assumed_role_arn),
      expiration: ms(x.expiration),
      createdAt: ms(x.created_at),
    };
  }

  async deleteExpiredSessions(before: Date): Promise<number> {
    return changes(
      await this.db.query('DELETE FROM sts_sessions WHERE expiration <= $1', [before.getTime()]),
    );
  }

  async #insertPrincipal(arn: string, params: unknown[]): Promise<void> {
    try {
      await this.db.tx(async (c: Q) => {
        await c.query(
          `INSERT INTO iam_principals (${PRINCIPAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          params,
        );
        await notify(c, 'iam');
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError(`principal ${arn}`);
      throw err;
    }
  }

  async #principal(arn: string, kind: string): Promise<Row | undefined> {
    const r = await this.db.query('SELECT * FROM iam_principals WHERE arn = $1 AND kind = $2', [
      arn,
      kind,
    ]);
    return r.rows[0];
  }

  async #byName(accountId: string, kind: string, name: string): Promise<Row | undefined> {
    const r = await this.db.query(
      'SELECT * FROM iam_principals WHERE account_id = $1 AND kind = $2 AND lower(name) = lower($3)',
      [accountId, kind, name],
    );
    return r.rows[0];
  }

  async #list(kind: string, accountId: string | undefined): Promise<Row[]> {
    const r =
      accountId === undefined
        ? await this.db.query(
            'SELECT * FROM iam_principals WHERE kind = $1 ORDER BY account_id, lower(name)',
            [kind],
          )
        : await this.db.query(
            'SELECT * FROM iam_principals WHERE account_id = $1 AND kind = $2 ORDER BY lower(name)',
            [accountId, kind],
          );
    return r.rows;
  }
}

function rowToAccount(r: Row): IamAccountRecord {
  return { accountId: String(r.account_id), createdAt: ms(r.created_at) };
}

function rowToUser(r: Row): IamUserRecord {
  return {
    accountId: String(r.account_id),
    name: String(r.name),
    path: String(r.path),
    arn: String(r.arn),
    userId: String(r.unique_id),
    createdAt: ms(r.created_at),
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
    createdAt: ms(r.created_at),
  };
}

function rowToPolicy(r: Row): IamPolicyRecord {
  return {
    principalArn: String(r.principal_arn),
    policyName: String(r.policy_name),
    document: String(r.document),
  };
}
