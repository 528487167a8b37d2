/**
 * The request pipeline: what every API request goes through, for the three front ends on
 * the listener (KMS JSON 1.1, STS Query/XML, the admin API), once and in this order:
 *
 *   body size (413) → SigV4 header checks (before the body is read; 100-continue after)
 *   → request id → route (the operation's name) → SigV4 signature → decode → run → audit
 *   (refused with the front end's internal error when the event cannot be recorded) → send.
 *
 * What differs between the front ends — how a request names its operation, how its input
 * is parsed, how success and errors are encoded, which error names they use — is a codec's
 * (`defineCodec`; kms.ts, sts.ts, admin.ts). Errors reach the wire only through a codec.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { AuditInput } from '../../audit/event.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { Authenticator, Caller, CheckedHeaders } from '../../auth/authenticator.js';
import type { Principal } from '../../auth/principal.js';
import type { Config } from '../../config/config.js';
import { toKmsError, type KmsError } from '../../errors/aws-errors.js';
import type { Services } from '../../kms/context.js';
import { headerValue, sendBody, sourceIp } from '../../protocol/http-message.js';
import {
  bodyTooLarge,
  declaresTooLarge,
  readBody,
  RequestAbortedError,
} from '../../protocol/request-body.js';
import { errorBody, httpStatus } from '../../protocol/wire-errors.js';
import { closeAfterAnswer } from '../edge.js';

/** What the pipeline itself needs of the node. */
export interface PipelineDeps {
  config: Readonly<Config>;
  services: Services;
  authenticator: Authenticator;
  audit: AuditLog;
  logger: Logger;
}

/** One request as every stage sees it. */
export interface Exchange {
  readonly req: IncomingMessage;
  /** The raw body (empty when the headers did not authenticate: it was never read). */
  readonly body: Buffer;
  readonly requestId: string;
  readonly eventId: string;
  readonly now: Date;
  readonly sourceIp: string;
  readonly userAgent: string;
}

/** Where a request stands after `run`: what the audit event and the answer are made of. */
export interface Outcome<I, O, E> {
  principal?: Principal | undefined;
  region: string;
  input?: I | undefined;
  output?: O | undefined;
  error?: E | undefined;
}

/** A decoded request, as audited (requestParameters). */
export type Input = Record<string, unknown>;

/** The audit event's members a codec decides; the pipeline fills in the rest. */
export type AuditedMembers = Pick<
  AuditInput,
  'output' | 'errorCode' | 'errorMessage' | 'keyArns' | 'readOnly'
>;

/**
 * One front end: only what differs. `C` is the codec's per-request state (made by `route`),
 * `I` the decoded input, `O` the operation's result, `E` the front end's error type.
 */
export interface CodecSpec<C, I extends Input, O, E extends Error> {
  /** The SigV4 signing name the front end answers to (the credential scope's service). */
  readonly service: 'kms' | 'sts';
  /** Content-Type of every answer, success or error. */
  readonly contentType: string;
  /** Is this request for this front end (by headers alone)? */
  matches(req: IncomingMessage): boolean;
  /** The call, from what is known before authentication. Never throws. */
  route(x: Exchange): C;
  /** The audit event's eventName. */
  eventName(call: C): string;
  /** Throws the error a call gets before authentication (KMS: an unknown target). */
  precheck?(call: C, x: Exchange): void;
  /** The input from the body, for an authenticated caller (audited as requestParameters). */
  decode(call: C, x: Exchange, caller: Caller): I;
  run(call: C, input: I, x: Exchange, caller: Caller): Promise<O>;
  /** Anything thrown by the stages above, as the front end's error. */
  toError(err: unknown): E;
  /** The error a request gets when its audit event cannot be recorded. */
  auditFailure(cause: unknown): E;
  /** A server fault: logged (with its cause) under the request id. */
  isServerFault(err: E): boolean;
  audited(call: C, outcome: Outcome<I, O, E>): AuditedMembers;
  errorStatus(err: E): number;
  encodeError(err: E, x: Exchange): string;
  encodeOutput(output: O | undefined, x: Exchange): string;
  /** After the answer is written (KMS: key usage, zeroing, metrics). */
  finish?(call: C, outcome: Outcome<I, O, E>, x: Exchange, startedMs: number): void;
}

/** The header check's result, carried to the signature check after the body is read. */
export type HeaderAuth =
  | { readonly ok: true; readonly checked: CheckedHeaders }
  | { readonly ok: false; readonly error: unknown };

/** A codec with its types erased: what the pipeline dispatches to. */
export interface ApiCodec {
  readonly service: 'kms' | 'sts';
  matches(req: IncomingMessage): boolean;
  exchange(
    deps: PipelineDeps,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    auth: HeaderAuth,
  ): Promise<void>;
}

export function defineCodec<C, I extends Input, O, E extends Error>(
  spec: CodecSpec<C, I, O, E>,
): ApiCodec {
  return {
    service: spec.service,
    matches: (req) => spec.matches(req),
    exchange: (deps, req, res, body, auth) => runExchange(deps, spec, req, res, body, auth),
  };
}

export interface ApiCodecs {
  /** Tried in order; the first whose `matches` is true answers. */
  routes: readonly ApiCodec[];
  /** The front end of every other request (KMS). */
  fallback: ApiCodec;
}

export interface ApiPipeline {
  /** The API listener's handler (`expectsContinue`: the request carried `Expect: 100-continue`). */
  handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void>;
  /** One request whose body the caller has already read (tests). */
  handleRead(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void>;
}

const EMPTY = Buffer.alloc(0);

export function createApiPipeline(deps: PipelineDeps, codecs: ApiCodecs): ApiPipeline {
  const select = (req: IncomingMessage): ApiCodec =>
    codecs.routes.find((c) => c.matches(req)) ?? codecs.fallback;
  return {
    async handle(req, res, expectsContinue) {
      const codec = select(req);
      try {
        /* Precondition: a declared body within the limit (413 before a byte of it is read). */
        if (declaresTooLarge(req)) return refuse(res, bodyTooLarge(), deps.logger);
        const auth = await checkHeaders(deps, req, codec.service);
        if (!auth.ok) {
          // The codec answers (and audits) the header check's error; the unread body is
          // dropped with the connection.
          closeAfterAnswer(res);
          return await codec.exchange(deps, req, res, EMPTY, auth);
        }
        if (expectsContinue) res.writeContinue();
        const body = await readBody(req);
        await codec.exchange(deps, req, res, body, auth);
      } catch (err) {
        // A request that ended badly (aborted, timed out) has no one left to answer.
        if (err instanceof RequestAbortedError || req.destroyed) return;
        refuse(res, toKmsError(err), deps.logger);
      }
    },
    async handleRead(req, res, body) {
      const codec = select(req);
      await codec.exchange(deps, req, res, body, await checkHeaders(deps, req, codec.service));
    },
  };
}

/** Every authentication check that does not need the body; its error waits for the codec. */
async function checkHeaders(
  deps: PipelineDeps,
  req: IncomingMessage,
  service: 'kms' | 'sts',
): Promise<HeaderAuth> {
  try {
    const checked = await deps.authenticator.checkHeaders(
      {
        method: req.method ?? 'POST',
        host: headerValue(req, 'host') ?? '',
        path: req.url ?? '/',
        headers: req.headers,
      },
      service,
    );
    return { ok: true, checked };
  } catch (error) {
    return { ok: false, error };
  }
}

/** An error answered by the front door itself (not audited: no operation ran). */
function refuse(res: ServerResponse, err: KmsError, logger: Logger): void {
  if (err.fault === 'server') logger.error({ err: err.cause ?? err }, 'internal error');
  if (res.headersSent) return;
  closeAfterAnswer(res);
  sendBody(res, httpStatus(err), randomUUID(), 'application/x-amz-json-1.1', errorBody(err));
}

async function runExchange<C, I extends Input, O, E extends Error>(
  deps: PipelineDeps,
  codec: CodecSpec<C, I, O, E>,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  auth: HeaderAuth,
): Promise<void> {
  const started = performance.now();
  const x: Exchange = {
    req,
    body,
    requestId: randomUUID(),
    eventId: randomUUID(),
    now: deps.services.clock.now(),
    sourceIp: sourceIp(req),
    userAgent: headerValue(req, 'user-agent') ?? '',
  };
  const call = codec.route(x);
  const outcome: Outcome<I, O, E> = { region: deps.config.region };
  try {
    codec.precheck?.(call, x);
    if (!auth.ok) throw auth.error;
    const caller = await deps.authenticator.verifySignature(auth.checked, {
      method: req.method ?? 'POST',
      host: headerValue(req, 'host') ?? '',
      path: req.url ?? '/',
      headers: req.headers,
      body,
    });
    outcome.principal = caller.principal;
    outcome.region = caller.region;
    outcome.input = codec.decode(call, x, caller);
    outcome.output = await codec.run(call, outcome.input, x, caller);
  } catch (err) {
    outcome.error = codec.toError(err);
  }
  try {
    await deps.audit.record({
      requestId: x.requestId,
      eventId: x.eventId,
      eventTime: x.now,
      operation: codec.eventName(call),
      region: outcome.region,
      sourceIp: x.sourceIp,
      userAgent: x.userAgent,
      principal: outcome.principal,
      recipientAccountId: outcome.principal?.accountId ?? deps.config.accountId,
      input: outcome.input,
      ...codec.audited(call, outcome),
    });
  } catch (err) {
    // Audit refuses a request it cannot record: the caller gets no result.
    deps.logger.error({ requestId: x.requestId, err }, 'audit write failed; failing the request');
    outcome.error = codec.auditFailure(err);
  }
  const error = outcome.error;
  if (error !== undefined) {
    if (codec.isServerFault(error))
      deps.logger.error({ requestId: x.requestId, err: error.cause ?? error }, 'internal error');
    sendBody(
      res,
      codec.errorStatus(error),
      x.requestId,
      codec.contentType,
      codec.encodeError(error, x),
    );
  } else {
    sendBody(res, 200, x.requestId, codec.contentType, codec.encodeOutput(outcome.output, x));
  }
  codec.finish?.(call, outcome, x, started);
}
