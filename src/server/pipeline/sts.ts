/**
 * The STS codec: the STS Query protocol at the KMS endpoint (form-encoded POST or GET query
 * parameters, XML answers), signed for service `sts`. Errors leave as STS's
 * `<ErrorResponse>` with the IAM/STS codes (errors/iam-errors.ts). Neither the action's
 * result (credentials) nor anything but its parameters reaches the audit log.
 */
import type { IncomingMessage } from 'node:http';
import { iamError, toIamError, type IamError } from '../../errors/iam-errors.js';
import { iamHttpStatus } from '../../protocol/wire-errors.js';
import { assumeRole, getCallerIdentity, STS_VERSION, type StsServices } from '../../sts/actions.js';
import { errorXml } from '../../sts/xml.js';
import { defineCodec, type ApiCodec, type Input } from './pipeline.js';

interface StsCall {
  action: string;
  params: URLSearchParams;
}

/** Is this request for STS? SigV4 scope service `sts`, or a form-encoded body without a target. */
export function isStsRequest(req: IncomingMessage): boolean {
  if (req.headers['x-amz-target'] !== undefined) return false;
  const auth = req.headers.authorization ?? '';
  const scope = /Credential=[^/\s,]+\/\d{8}\/[^/\s,]+\/([^/\s,]+)\//.exec(auth);
  if (scope !== null) return scope[1] === 'sts';
  return (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

export function stsCodec(deps: { services: StsServices }): ApiCodec {
  const { services } = deps;
  return defineCodec<StsCall, Input, string, IamError>({
    service: 'sts',
    contentType: 'text/xml',
    matches: isStsRequest,
    route({ req, body }) {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const params = new URLSearchParams(
        req.method === 'GET' ? (q < 0 ? '' : url.slice(q + 1)) : body.toString('utf8'),
      );
      return { action: params.get('Action') ?? '', params };
    },
    eventName: (call) => (call.action === '' ? 'Unknown' : call.action),
    decode({ action, params }) {
      if (action === '') throw iamError('MissingAction', 'Missing Action');
      const version = params.get('Version');
      if (version !== null && version !== STS_VERSION)
        throw iamError(
          'InvalidAction',
          `Could not find operation ${action} for version ${version}`,
        );
      if (action === 'GetCallerIdentity') return {};
      if (action === 'AssumeRole')
        return {
          RoleArn: params.get('RoleArn') ?? undefined,
          RoleSessionName: params.get('RoleSessionName') ?? undefined,
          DurationSeconds: params.get('DurationSeconds') ?? undefined,
        };
      throw iamError(
        'InvalidAction',
        `Could not find operation ${action} for version ${version ?? STS_VERSION}`,
      );
    },
    async run({ action, params }, _input, x, caller) {
      if (action === 'GetCallerIdentity') return getCallerIdentity(caller.principal, x.requestId);
      return assumeRole(
        services,
        caller.principal,
        caller.region,
        params,
        x.sourceIp,
        x.requestId,
        x.now,
      );
    },
    toError: toIamError,
    auditFailure: () => iamError('InternalFailure', 'An internal error occurred.'),
    isServerFault: (err) => err.type === 'Receiver',
    audited: (_call, { error }) => ({
      // Never the credentials.
      output: undefined,
      ...(error !== undefined ? { errorCode: error.code, errorMessage: error.message } : {}),
      keyArns: [],
      readOnly: true,
    }),
    errorStatus: iamHttpStatus,
    encodeError: (err, x) => errorXml(err.type, err.code, err.message, x.requestId),
    encodeOutput: (xml) => xml ?? '',
  });
}
