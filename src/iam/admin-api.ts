/**
 * The keyhold admin API's operations: AWS JSON 1.1 at `POST /` with `X-Amz-Target:
 * KeyholdAdmin.<Op>`, SigV4-signed for service `kms` like every KMS call. Only the root of
 * the account an operation targets may call it. Every call is audited (operation
 * `KeyholdAdmin.<Op>`); secrets never reach the audit log. The protocol around them (JSON
 * body, errors, audit) is the admin codec's (server/pipeline/admin.ts).
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import type { Services } from '../kms/context.js';
import type { IamRoleRecord, IamUserRecord } from '../storage/iam-repository.js';
import { iamError } from '../errors/iam-errors.js';
import type { IdentityService } from './identity-service.js';
import { AUDIT_AUTHZ_OPS } from './admin-audit-ops.js';

export const ADMIN_TARGET_PREFIX = 'KeyholdAdmin.';

export type Input = Record<string, unknown>;
export type Output = Record<string, unknown>;

/** The parts of the node the audit and authorization operations read. */
export interface AdminNode {
  audit: AuditLog;
  services: Services;
}

/** What operations beyond identities (audit, authorization) read of the running node. */
export interface AdminEnv {
  deps: AdminNode;
  region: string;
  sourceIp: string;
  now: Date;
}

export interface AdminOp {
  readOnly: boolean;
  /** The account the call acts on; the caller must be its root. */
  account(input: Input, caller: Principal): string;
  run(ids: IdentityService, input: Input, caller: Principal, env: AdminEnv): Promise<Output>;
}

const ARN_ACCOUNT = /^arn:aws:iam::(\d{12}):(user|role)\/.+$/;

function str(input: Input, name: string): string {
  const v = input[name];
  if (typeof v !== 'string' || v === '')
    throw iamError(
      'ValidationError',
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  return v;
}

function optStr(input: Input, name: string): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw iamError('ValidationError', `${name} must be a string`);
  return v;
}

function optInt(input: Input, name: string): number | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw iamError('ValidationError', `${name} must be an integer`);
  return v;
}

function arnAccount(arn: string, kind: 'user' | 'role'): string {
  const m = ARN_ACCOUNT.exec(arn);
  if (m === null || m[2] !== kind)
    throw iamError('ValidationError', `'${arn}' is not an IAM ${kind} ARN`);
  return m[1] as string;
}

const userArnAccount = (i: Input) => arnAccount(str(i, 'UserArn'), 'user');
const roleArnAccount = (i: Input) => arnAccount(str(i, 'RoleArn'), 'role');
const accountOrCaller = (i: Input, c: Principal) => optStr(i, 'AccountId') ?? c.accountId;

/** AWS JSON timestamps: epoch seconds. */
function epoch(d: Date): number {
  return d.getTime() / 1000;
}

function userOut(u: IamUserRecord): Output {
  return {
    UserName: u.name,
    UserId: u.userId,
    Arn: u.arn,
    Path: u.path,
    CreateDate: epoch(u.createdAt),
  };
}

function roleOut(r: IamRoleRecord): Output {
  return {
    RoleName: r.name,
    RoleId: r.roleId,
    Arn: r.arn,
    Path: r.path,
    CreateDate: epoch(r.createdAt),
    AssumeRolePolicyDocument: r.trustPolicy,
    MaxSessionDuration: r.maxSessionDuration,
    Description: r.description,
  };
}

const OPS: Readonly<Record<string, AdminOp>> = {
  CreateUser: {
    readOnly: false,
    account: (i) => str(i, 'AccountId'),
    run: async (ids, i) => ({
      User: userOut(
        await ids.createUser({
          accountId: str(i, 'AccountId'),
          name: str(i, 'UserName'),
          ...(optStr(i, 'Path') !== undefined ? { path: optStr(i, 'Path') as string } : {}),
        }),
      ),
    }),
  },
  DeleteUser: {
    readOnly: false,
    account: userArnAccount,
    run: async (ids, i) => {
      await ids.deleteUser(str(i, 'UserArn'));
      return {};
    },
  },
  ListUsers: {
    readOnly: true,
    account: accountOrCaller,
    run: async (ids, i, c) => ({
      Users: (await ids.listUsers(accountOrCaller(i, c))).map(userOut),
    }),
  },
  CreateAccessKey: {
    readOnly: false,
    account: userArnAccount,
    run: async (ids, i) => {
      const arn = str(i, 'UserArn');
      const pair = await ids.createAccessKey(arn);
      return {
        AccessKey: {
          UserArn: arn,
          AccessKeyId: pair.accessKeyId,
          SecretAccessKey: pair.secretAccessKey,
          Status: 'Active',
        },
      };
    },
  },
  ListAccessKeys: {
    readOnly: true,
    account: userArnAccount,
    run: async (ids, i) => ({
      AccessKeyMetadata: (await ids.listAccessKeys(str(i, 'UserArn'))).map((k) => ({
        AccessKeyId: k.accessKeyId,
        Status: 'Active',
        CreateDate: epoch(k.createDate),
      })),
    }),
  },
  DeleteAccessKey: {
    readOnly: false,
    account: userArnAccount,
    run: async (ids, i) => {
      await ids.deleteAccessKey(str(i, 'AccessKeyId'), str(i, 'UserArn'));
      return {};
    },
  },
  PutUserPolicy: {
    readOnly: false,
    account: userArnAccount,
    run: async (ids, i) => {
      await ids.putPolicy(str(i, 'UserArn'), str(i, 'PolicyName'), str(i, 'PolicyDocument'));
      return {};
    },
  },
  DeleteUserPolicy: {
    readOnly: false,
    account: userArnAccount,
    run: async (ids, i) => {
      await ids.deletePolicy(str(i, 'UserArn'), str(i, 'PolicyName'));
      return {};
    },
  },
  ListUserPolicies: {
    readOnly: true,
    account: userArnAccount,
    run: async (ids, i) => {
      await ids.getUser(str(i, 'UserArn'));
      return { Policies: await policiesOut(ids, str(i, 'UserArn')) };
    },
  },
  CreateRole: {
    readOnly: false,
    account: (i) => str(i, 'AccountId'),
    run: async (ids, i) => {
      const path = optStr(i, 'Path');
      const max = optInt(i, 'MaxSessionDuration');
      const description = optStr(i, 'Description');
      return {
        Role: roleOut(
          await ids.createRole({
            accountId: str(i, 'AccountId'),
            name: str(i, 'RoleName'),
            trustPolicy: str(i, 'AssumeRolePolicyDocument'),
            ...(path !== undefined ? { path } : {}),
            ...(max !== undefined ? { maxSessionDuration: max } : {}),
            ...(description !== undefined ? { description } : {}),
          }),
        ),
      };
    },
  },
  UpdateAssumeRolePolicy: {
    readOnly: false,
    account: roleArnAccount,
    run: async (ids, i) => {
      await ids.updateRole(str(i, 'RoleArn'), { trustPolicy: str(i, 'PolicyDocument') });
      return {};
    },
  },
  DeleteRole: {
    readOnly: false,
    account: roleArnAccount,
    run: async (ids, i) => {
      await ids.deleteRole(str(i, 'RoleArn'));
      return {};
    },
  },
  ListRoles: {
    readOnly: true,
    account: accountOrCaller,
    run: async (ids, i, c) => ({
      Roles: (await ids.listRolesShown(accountOrCaller(i, c))).map(roleOut),
    }),
  },
  PutRolePolicy: {
    readOnly: false,
    account: roleArnAccount,
    run: async (ids, i) => {
      await ids.putPolicy(str(i, 'RoleArn'), str(i, 'PolicyName'), str(i, 'PolicyDocument'));
      return {};
    },
  },
  DeleteRolePolicy: {
    readOnly: false,
    account: roleArnAccount,
    run: async (ids, i) => {
      await ids.deletePolicy(str(i, 'RoleArn'), str(i, 'PolicyName'));
      return {};
    },
  },
  ListRolePolicies: {
    readOnly: true,
    account: roleArnAccount,
    run: async (ids, i) => {
      await ids.getRole(str(i, 'RoleArn'));
      return { Policies: await policiesOut(ids, str(i, 'RoleArn')) };
    },
  },
  ...AUDIT_AUTHZ_OPS,
};

async function policiesOut(ids: IdentityService, arn: string): Promise<Output[]> {
  return (await ids.listPolicies(arn)).map((p) => ({
    PolicyName: p.policyName,
    PolicyDocument: p.policyDocument,
  }));
}

/** The operation named `name`; own properties only: `constructor`, `__proto__` or `toString` name none. */
export function adminOperation(name: string): AdminOp | undefined {
  return Object.hasOwn(OPS, name) ? OPS[name] : undefined;
}

/** Runs an operation for its caller, who must be the root of the account it acts on. */
export async function runAdminOperation(
  ids: IdentityService,
  name: string,
  op: AdminOp,
  input: Input,
  caller: Principal,
  env: AdminEnv,
): Promise<Output> {
  const account = op.account(input, caller);
  /* Precondition: only the root of the target account administers it. */
  if (caller.type !== 'Root' || caller.accountId !== account)
    throw iamError(
      'AccessDenied',
      `User: ${caller.arn} is not authorized to perform: keyhold-admin:${name} in account ${account}: only the account root may administer identities`,
    );
  return op.run(ids, input, caller, env);
}
