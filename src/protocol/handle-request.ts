/**
 * The operation runner: one place for what every KMS request goes through, in order —
 * target → SigV4 → JSON → model validation → operation → audit → response. Errors are
 * mapped to the wire here and nowhere else.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import { observeKmsRequest } from '../metrics/kms-metrics.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import type { Config } from '../config/config.js';
import type { RequestContext, Services } from '../kms/context.js';
import { OPERATIONS } from '../kms/registry.js';
import {
  quotaFor,
  RequestQuotas,
  THROTTLING_MESSAGE,
  type QuotaOperation,
} from '../quota/quotas.js';
import { KmsError, kmsError, toKmsError } from '../errors/aws-errors.js';
import { headerValue, sendBody, sourceIp } from './http-message.js';
import { encodeOutput } from './json.js';
import { isOperationName, parseInput } from './validate/index.js';
import { errorBody, httpStatus } from './wire-errors.js';

export interface RequestHandlerDeps {
  config: Readonly<Config>;
  services: Services;
  authenticator: Authenticator;
  audit: AuditLog;
  logger: Logger;
}

const TARGET_PREFIX = 'TrentService.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

interface Outcome {
  operation: string;
  principal?: Principal | undefined;
  region: string;
  input?: Record<string, unknown> | undefined;
  output?: Record<string, unknown> | undefined;
  error?: KmsError | undefined;
  ctx?: RequestContext | undefined;
}

export async function handleKmsRequest(
  deps: RequestHandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const started = performance.now();
  const requestId = randomUUID();
  const eventId = randomUUID();
  const now = deps.services.clock.now();
  const outcome = await run(deps, req, body, requestId, now);
  const ctx = outcome.ctx;
  try {
    await deps.audit.record({
      requestId,
      eventId,
      eventTime: now,
      operation: outcome.operation,
      region: outcome.region,
      sourceIp: sourceIp(req),
      userAgent: headerValue(req, 'user-agent') ?? '',
      principal: outcome.principal,
      recipientAccountId: outcome.principal?.accountId ?? deps.config.accountId,
      input: outcome.input,
      output: outcome.error === undefined ? outcome.output : undefined,
      // An error AWS sends without a message has no errorMessage in its event either.
      ...(outcome.error !== undefined ? { errorCode: outcome.error.code } : {}),
      ...(outcome.error !== undefined && outcome.error.message !== ''
        ? { errorMessage: outcome.error.message }
        : {}),
      keyArns: ctx?.keyArns ?? [],
      readOnly: OPERATIONS.get(outcome.operation)?.readOnly ?? true,
    });
  } catch (err) {
    // Audit refuses a request it cannot record: the caller gets no result.
    deps.logger.error({ requestId, err }, 'audit write failed; failing the request');
    outcome.error = kmsError('KMSInternalException', 'An internal error occurred.', err);
  }
  if (outcome.error !== undefined) {
    if (outcome.error.fault === 'server')
      deps.logger.error({ requestId, err: outcome.error.cause ?? outcome.error }, 'internal error');
    send(res, httpStatus(outcome.error), requestId, errorBody(outcome.error));
  } else {
    send(res, 200, requestId, outcome.output === undefined ? '{}' : encodeOutput(outcome.output));
    deps.services.usage?.record(outcome.operation, ctx?.keyArns ?? [], now, eventId, requestId);
  }
  for (const b of ctx?.sensitive ?? []) b.fill(0);
  // The request's own secret bytes: the decoded Plaintext (Encrypt) and the raw body.
  const plaintext = outcome.input?.Plaintext;
  if (plaintext instanceof Uint8Array) plaintext.fill(0);
  body.fill(0);
  observeKmsRequest(
    isOperationName(outcome.operation) ? outcome.operation : 'unknown',
    (performance.now() - started) / 1000,
    outcome.error?.code,
  );
}

async function run(
  deps: RequestHandlerDeps,
  req: IncomingMessage,
  body: Buffer,
  requestId: string,
  now: Date,
): Promise<Outcome> {
  const target = headerValue(req, 'x-amz-target') ?? '';
  const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
  const outcome: Outcome = { operation, region: deps.config.region };
  try {
    /* Precondition: the request names a KMS operation. */
    if (req.method !== 'POST' || !target.startsWith(TARGET_PREFIX) || !isOperationName(operation)) {
      throw kmsError('UnknownOperationException', '');
    }
    const auth = await deps.authenticator.authenticate({
      method: req.method,
      host: headerValue(req, 'host') ?? '',
      path: req.url ?? '/',
      headers: req.headers,
      body,
    });
    outcome.principal = auth.principal;
    outcome.region = auth.region;
    outcome.input = parseInput(operation, parseJson(body));
    /* Request quotas: per caller account, Region and quota (docs/operations.md). */
    const quotas = quotasOf(deps);
    if (
      quotas !== null &&
      !quotas.tryTake(
        auth.principal.accountId,
        auth.region,
        quotaFor(operation as QuotaOperation, outcome.input),
        now.getTime(),
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
    outcome.ctx = {
      requestId,
      region: auth.region,
      principal: auth.principal,
      sourceIp: sourceIp(req),
      userAgent: headerValue(req, 'user-agent') ?? '',
      now,
      services: deps.services,
      operation,
      keyArns: [],
      sensitive: [],
    };
    outcome.output = (await op.handler(outcome.ctx, outcome.input)) as Record<string, unknown>;
  } catch (err) {
    outcome.error = toKmsError(err);
  }
  return outcome;
}

/** One limiter per node (per deps), on the server's clock; null when quotas are off. */
const limiters = new WeakMap<RequestHandlerDeps, RequestQuotas | null>();

function quotasOf(deps: RequestHandlerDeps): RequestQuotas | null {
  let q = limiters.get(deps);
  if (q === undefined) {
    const clock = deps.services.clock;
    q = deps.config.quotas
      ? new RequestQuotas({
          scale: deps.config.quotaScale,
          rps: deps.config.quotaRps,
          now: () => clock.now().getTime(),
        })
      : null;
    limiters.set(deps, q);
  }
  return q;
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw kmsError('SerializationException', 'Malformed request body: not valid JSON.');
  }
}

export function send(res: ServerResponse, status: number, requestId: string, body: string): void {
  sendBody(res, status, requestId, CONTENT_TYPE, body);
}
