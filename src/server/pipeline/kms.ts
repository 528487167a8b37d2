/**
 * The KMS codec: AWS JSON 1.1, `X-Amz-Target: TrentService.<Op>`. The body is parsed and
 * validated against the model, the request quota taken, the operation run; errors leave as
 * `{"__type", "message"}` (protocol/wire-errors.ts). After the answer: key usage is
 * recorded, the request's secret bytes zeroed, the request counted in the metrics.
 */
import { kmsError, toKmsError, type KmsError } from '../../errors/aws-errors.js';
import type { RequestContext, Services } from '../../kms/context.js';
import { OPERATIONS } from '../../kms/registry.js';
import { observeKmsRequest } from '../../metrics/kms-metrics.js';
import { headerValue } from '../../protocol/http-message.js';
import { encodeOutput } from '../../protocol/json.js';
import { isOperationName, parseInput } from '../../protocol/validate/index.js';
import { errorBody, httpStatus } from '../../protocol/wire-errors.js';
import {
  quotaFor,
  THROTTLING_MESSAGE,
  type QuotaOperation,
  type RequestQuotas,
} from '../../quota/quotas.js';
import { defineCodec, type ApiCodec, type Input } from './pipeline.js';

export const KMS_TARGET_PREFIX = 'TrentService.';
export const KMS_CONTENT_TYPE = 'application/x-amz-json-1.1';

export interface KmsCodecDeps {
  services: Services;
  /** The node's request quotas (per account, Region and quota); null when quotas are off. */
  quotas: RequestQuotas | null;
}

interface KmsCall {
  /** The target's operation name (the whole target when it lacks the prefix). */
  operation: string;
  known: boolean;
  ctx?: RequestContext | undefined;
}

export function kmsCodec(deps: KmsCodecDeps): ApiCodec {
  const { services, quotas } = deps;
  return defineCodec<KmsCall, Input, Input, KmsError>({
    service: 'kms',
    contentType: KMS_CONTENT_TYPE,
    matches: () => true,
    route({ req }) {
      const target = headerValue(req, 'x-amz-target') ?? '';
      const prefixed = target.startsWith(KMS_TARGET_PREFIX);
      const operation = prefixed ? target.slice(KMS_TARGET_PREFIX.length) : target;
      return { operation, known: req.method === 'POST' && prefixed && isOperationName(operation) };
    },
    eventName: (call) => call.operation,
    precheck(call) {
      /* Precondition: the request names a KMS operation. */
      if (!call.known) throw kmsError('UnknownOperationException', '');
    },
    decode: (call, { body }) => parseInput(call.operation, parseJson(body)),
    async run(call, input, x, caller) {
      const operation = call.operation;
      /* Request quotas: per caller account, Region and quota (docs/operations.md). */
      if (
        quotas !== null &&
        !quotas.tryTake(
          caller.principal.accountId,
          caller.region,
          quotaFor(operation as QuotaOperation, input),
          x.now.getTime(),
        )
      ) {
        throw kmsError('ThrottlingException', THROTTLING_MESSAGE);
      }
      const op = OPERATIONS.get(operation);
      if (op === undefined) {
        throw kmsError(
          'UnsupportedOperationException',
          `${operation} is not supported by this keyhold version.`,
        );
      }
      call.ctx = {
        requestId: x.requestId,
        region: caller.region,
        principal: caller.principal,
        sourceIp: x.sourceIp,
        userAgent: x.userAgent,
        now: x.now,
        services,
        operation,
        keyArns: [],
        sensitive: [],
      };
      return (await op.handler(call.ctx, input)) as Input;
    },
    toError: toKmsError,
    auditFailure: (cause) => kmsError('KMSInternalException', 'An internal error occurred.', cause),
    isServerFault: (err) => err.fault === 'server',
    audited: (call, { output, error }) => ({
      output: error === undefined ? output : undefined,
      // An error AWS sends without a message has no errorMessage in its event either.
      ...(error !== undefined ? { errorCode: error.code } : {}),
      ...(error !== undefined && error.message !== '' ? { errorMessage: error.message } : {}),
      keyArns: call.ctx?.keyArns ?? [],
      readOnly: OPERATIONS.get(call.operation)?.readOnly ?? true,
    }),
    errorStatus: httpStatus,
    encodeError: (err) => errorBody(err),
    encodeOutput: (output) => (output === undefined ? '{}' : encodeOutput(output)),
    finish(call, outcome, x, started) {
      const ctx = call.ctx;
      if (outcome.error === undefined)
        services.usage?.record(call.operation, ctx?.keyArns ?? [], x.now, x.eventId, x.requestId);
      for (const b of ctx?.sensitive ?? []) b.fill(0);
      // The request's own secret bytes: the decoded Plaintext (Encrypt) and the raw body.
      const plaintext = outcome.input?.Plaintext;
      if (plaintext instanceof Uint8Array) plaintext.fill(0);
      x.body.fill(0);
      observeKmsRequest(
        isOperationName(call.operation) ? call.operation : 'unknown',
        (performance.now() - started) / 1000,
        outcome.error?.code,
      );
    },
  });
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw kmsError('SerializationException', 'Malformed request body: not valid JSON.');
  }
}
