/**
 * The API listener's front door for KMS, STS and admin requests: body size and header
 * authentication come before the body is read, so a caller that cannot authenticate never
 * makes the server buffer its body, and `Expect: 100-continue` is answered only once the
 * headers authenticate.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { handleAdminRequest, isAdminRequest } from '../iam/admin-api.js';
import type { IdentityService } from '../iam/identity-service.js';
import { toKmsError, type KmsError } from '../errors/aws-errors.js';
import { handleKmsRequest, send, type RequestHandlerDeps } from '../protocol/handle-request.js';
import { headerValue } from '../protocol/http-message.js';
import {
  bodyTooLarge,
  declaresTooLarge,
  readBody,
  RequestAbortedError,
} from '../protocol/request-body.js';
import { errorBody, httpStatus } from '../protocol/wire-errors.js';
import { handleStsRequest, isStsRequest } from '../sts/handler.js';
import { closeAfterAnswer } from './edge.js';

const EMPTY = Buffer.alloc(0);

export async function handleApiRequest(
  deps: RequestHandlerDeps,
  identities: IdentityService,
  req: IncomingMessage,
  res: ServerResponse,
  expectsContinue: boolean,
): Promise<void> {
  const dispatch = (body: Buffer): Promise<void> =>
    isStsRequest(req)
      ? handleStsRequest(deps, req, res, body)
      : isAdminRequest(req)
        ? handleAdminRequest(deps, identities, req, res, body)
        : handleKmsRequest(deps, req, res, body);
  try {
    /* Precondition: a declared body within the limit (413 before a byte of it is read). */
    if (declaresTooLarge(req)) return refuse(res, bodyTooLarge(), deps.logger);
    if (!(await headersAuthenticate(deps, req))) {
      // The handler answers (and audits) the same authentication error from the headers
      // alone; the unread body is dropped with the connection.
      closeAfterAnswer(res);
      return await dispatch(EMPTY);
    }
    if (expectsContinue) res.writeContinue();
    const body = await readBody(req);
    await dispatch(body);
  } catch (err) {
    // A request that ended badly (aborted, timed out) has no one left to answer.
    if (err instanceof RequestAbortedError || req.destroyed) return;
    refuse(res, toKmsError(err), deps.logger);
  }
}

/** True when the headers pass every authentication check that does not need the body. */
async function headersAuthenticate(
  deps: RequestHandlerDeps,
  req: IncomingMessage,
): Promise<boolean> {
  try {
    await deps.authenticator.checkHeaders(
      {
        method: req.method ?? 'POST',
        host: headerValue(req, 'host') ?? '',
        path: req.url ?? '/',
        headers: req.headers,
      },
      isStsRequest(req) ? 'sts' : 'kms',
    );
    return true;
  } catch {
    return false;
  }
}

/** An error answered by the front door itself (not audited: no operation ran). */
function refuse(res: ServerResponse, err: KmsError, logger: Logger): void {
  if (err.fault === 'server') logger.error({ err: err.cause ?? err }, 'internal error');
  if (res.headersSent) return;
  closeAfterAnswer(res);
  send(res, httpStatus(err), randomUUID(), errorBody(err));
}
