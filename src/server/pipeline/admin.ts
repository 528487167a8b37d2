/**
 * The admin API codec: AWS JSON 1.1 with `X-Amz-Target: KeyholdAdmin.<Op>`, signed for
 * service `kms`, answered in JSON with the IAM/STS error codes (`{"__type", "message"}`).
 * The operations are iam/admin-api.ts's; responses (which may carry a new secret access
 * key) never reach the audit log.
 */
import type { IncomingMessage } from 'node:http';
import { iamError, toIamError, type IamError } from '../../errors/iam-errors.js';
import {
  ADMIN_TARGET_PREFIX,
  adminOperation,
  runAdminOperation,
  type AdminNode,
  type AdminOp,
  type Input,
  type Output,
} from '../../iam/admin-api.js';
import type { IdentityService } from '../../iam/identity-service.js';
import { iamHttpStatus } from '../../protocol/wire-errors.js';
import { defineCodec, type ApiCodec } from './pipeline.js';

interface AdminCall {
  name: string;
  op: AdminOp | undefined;
}

export function isAdminRequest(req: IncomingMessage): boolean {
  const t = req.headers['x-amz-target'];
  return typeof t === 'string' && t.startsWith(ADMIN_TARGET_PREFIX);
}

export function adminCodec(deps: AdminNode & { identities: IdentityService }): ApiCodec {
  const { identities } = deps;
  const node: AdminNode = { audit: deps.audit, services: deps.services };
  return defineCodec<AdminCall, Input, Output, IamError>({
    service: 'kms',
    contentType: 'application/x-amz-json-1.1',
    matches: isAdminRequest,
    route({ req }) {
      const name = String(req.headers['x-amz-target'] ?? '').slice(ADMIN_TARGET_PREFIX.length);
      return { name, op: adminOperation(name) };
    },
    eventName: (call) => `${ADMIN_TARGET_PREFIX}${call.name}`,
    decode({ name, op }, { body }) {
      if (op === undefined) throw iamError('InvalidAction', `Unknown admin operation ${name}`);
      return parseBody(body);
    },
    run: ({ name, op }, input, x, caller) =>
      // decode refused a call that names no operation.
      runAdminOperation(identities, name, op as AdminOp, input, caller.principal, {
        deps: node,
        region: caller.region,
        sourceIp: x.sourceIp,
        now: x.now,
      }),
    toError: toIamError,
    auditFailure: () => iamError('InternalFailure', 'An internal error occurred.'),
    isServerFault: (err) => err.type === 'Receiver',
    audited: ({ op }, { error }) => ({
      // Responses may carry a new secret access key: never audited.
      output: undefined,
      ...(error !== undefined ? { errorCode: error.code, errorMessage: error.message } : {}),
      keyArns: [],
      readOnly: op?.readOnly ?? true,
    }),
    errorStatus: iamHttpStatus,
    encodeError: (err) => JSON.stringify({ __type: err.code, message: err.message }),
    encodeOutput: (output) => JSON.stringify(output ?? {}),
  });
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
