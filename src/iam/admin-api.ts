/**
 * The keyhold admin API: AWS JSON 1.1 at `POST /` with `X-Amz-Target: KeyholdAdmin.<Op>`,
 * SigV4-signed for service `kms` like every KMS call. Only the root of the account an
 * operation targets may call it. Every call is audited (operation `KeyholdAdmin.<Op>`);
 * secrets never reach the audit log.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/principal.js';
import type { RequestHandlerDeps } from '../protocol/handle-request.js';
import { headerValue, sourceIp } from '../protocol/http-message.js';
import { iamHttpStatus } from '../protocol/wire-errors.js';
import type { IamRoleRecord, IamUserRecord } from '../storage/iam-repository.js';
import { iamError, toIamError, type IamError } from '../errors/iam-errors.js';
import type { IdentityService } from './identity-service.js';
import { AUDIT_AUTHZ_OPS } from './admin-audit-ops.js';

export const ADMIN_TARGET_PREFIX = 'KeyholdAdmin.';

export type Input = Record<string, unknown>;
export type Output = Record<string, unknown>;

/** What operations beyond identities (audit, authorization) read of the running node. */
export interface AdminEnv {
  deps: RequestHandlerDeps;
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

export function isAdminRequest(req: IncomingMessage): boolean {
  const t = req.headers['x-amz-target'];
  return typeof t === 'string' && t.startsWith(ADMIN_TARGET_PREFIX);
}

export async function handleAdminRequest(
  deps: RequestHandlerDeps,
  ids: IdentityService,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const requestId = randomUUID();
  const now = deps.services.clock.now();
  const target = String(req.headers['x-amz-target'] ?? '');
  const name = target.slice(ADMIN_TARGET_PREFIX.length);
  // Own properties only: `constructor`, `__proto__` or `toString` name no operation.
  const op = Object.hasOwn(OPS, name) ? OPS[name] : undefined;
  let principal: Principal | undefined;
  let region = deps.config.region;
  let input: Input | undefined;
  let output: Output | undefined;
  let error: IamError | undefined;
  try {
    const auth = await deps.authenticator.authenticate({
      method: req.method ?? 'POST',
      host: String(req.headers.host ?? ''),
      path: req.url ?? '/',
      headers: req.headers,
      body,
    });
    principal = auth.principal;
    region = auth.region;
    if (op === undefined) throw iamError('InvalidAction', `Unknown admin operation ${name}`);
    input = parseBody(body);
    const account = op.account(input, auth.principal);
    /* Precondition: only the root of the target account administers it. */
    if (auth.principal.type !== 'Root' || auth.principal.accountId !== account)
      throw iamError(
        'AccessDenied',
        `User: ${auth.principal.arn} is not authorized to perform: keyhold-admin:${name} in account ${account}: only the account root may administer identities`,
      );
    output = await op.run(ids, input, auth.principal, {
      deps,
      region: auth.region,
      sourceIp: sourceIp(req),
      now,
    });
  } catch (err) {
    error = toIamError(err);
  }
  try {
    await deps.audit.record({
      requestId,
      eventTime: now,
      operation: `${ADMIN_TARGET_PREFIX}${name}`,
      region,
      sourceIp: sourceIp(req),
      userAgent: headerValue(req, 'user-agent') ?? '',
      principal,
      recipientAccountId: principal?.accountId ?? deps.config.accountId,
      input,
      // Responses may carry a new secret access key: never audited.
      output: undefined,
      ...(error !== undefined ? { errorCode: error.code, errorMessage: error.message } : {}),
      keyArns: [],
      readOnly: op?.readOnly ?? true,
    });
  } catch (err) {
    deps.logger.error({ requestId, err }, 'audit write failed; failing the request');
    error = iamError('InternalFailure', 'An internal error occurred.');
    output = undefined;
  }
  const text =
    error !== undefined
      ? JSON.stringify({ __type: error.code, message: error.message })
      : JSON.stringify(output ?? {});
  if (error?.type === 'Receiver')
    deps.logger.error({ requestId, err: error.cause ?? error }, 'internal error');
  res.writeHead(error === undefined ? 200 : iamHttpStatus(error), {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': requestId,
  });
  res.end(text);
}

function parseBody(body: Buffer): Input {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw iamError('ValidationError', 'Malformed request body: not valid JSON.');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw iamError('ValidationError', 'The request body must be a JSON object.');
  return v as Input;
}
