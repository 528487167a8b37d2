/**
 * The XKS proxy's HTTPS server: routing of `{uriPrefix}/kms/xks/v1/...`, body limits,
 * SigV4, JSON in and out, the spec's error body, metrics and one log line per request
 * (kmsRequestId, kmsOperation, principal, outcome, time — never plaintext, AAD or keys).
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { pino, type Logger } from 'pino';
import { registry } from '../metrics/registry.js';
import type { AuthorizationPolicy } from './authorization.js';
import type { XksBackend } from './backend.js';
import type { XksCredential, XksProxyConfig } from './config.js';
import { invocationCounterPath, validateXksProxyConfig } from './config.js';
import { DEFAULT_GCM_INVOCATION_LIMIT, GcmInvocationBudget } from '../hsm/gcm-budget.js';
import { InvocationCounterFile } from './invocation-counter-file.js';
import { errorBody, XksError, xksError } from './errors.js';
import {
  trackCredentials,
  xksCredentialUse,
  xksErrors,
  xksRequestDuration,
  xksRequests,
} from './metrics.js';
import {
  runOperation,
  type OperationContext,
  type RequestMetadata,
  type XksOperation,
} from './operations.js';
import { CredentialSet } from './sigv4-auth.js';
import { tlsOptions } from './tls-options.js';
import { installMtlsGate, mtlsPolicy } from './mtls-refusal.js';
import { KEY_ID_RE } from './key-file.js';
import { RateLimiter } from './rate-limit.js';

export interface XksProxy {
  /** `https://<host>:<port>` as bound (host 127.0.0.1 when listening on all addresses). */
  url: string;
  port: number;
  uriPrefix: string;
  /** `http://host:port/metrics` when the metrics listener is on. */
  metricsUrl?: string;
  backend: XksBackend;
  /** Rotate credentials without a restart. */
  setCredentials(credentials: readonly XksCredential[]): void;
  setAuthorization(policy: AuthorizationPolicy | undefined): void;
  /** Apply a re-read config: credentials, authorization, TLS certificate (SIGHUP). */
  reload(config: XksProxyConfig): void;
  close(): Promise<void>;
}

export interface StartOptions {
  backend: XksBackend;
  logger?: Logger;
  /** For tests of clock skew. */
  now?: () => Date;
}

const API_RE = /^(.*)\/kms\/xks\/v1\/(?:(health)|keys\/([^/]+)\/(metadata|encrypt|decrypt))$/;
const OPS = { metadata: 'GetKeyMetadata', encrypt: 'Encrypt', decrypt: 'Decrypt' } as const;

export async function startXksProxy(config: XksProxyConfig, opts: StartOptions): Promise<XksProxy> {
  validateXksProxyConfig(config);
  const log = opts.logger ?? pino({ name: 'keyhold-xks-proxy' });
  const now = opts.now ?? (() => new Date());
  const credentials = new CredentialSet(config.credentials, config.regions, config.maxSkewSeconds);
  const untrack = trackCredentials(credentials);
  const ctx: OperationContext = {
    backend: opts.backend,
    // Random-IV AES-GCM under long-lived keys: count encryptions per key, durably.
    gcm: new GcmInvocationBudget(
      await InvocationCounterFile.open(invocationCounterPath(config.backend)),
      { limit: config.limits.gcmInvocationsPerKey ?? DEFAULT_GCM_INVOCATION_LIMIT },
    ),
    config,
    authorization: config.authorization,
  };
  const allowedSubjects = config.mtls?.allowedSubjects;
  const limiter = new RateLimiter(config.limits.maxRequestsPerSecond);

  const server: HttpsServer = createHttpsServer(tlsOptions(config), (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err: String(err) }, 'xks-proxy: unhandled error');
      if (!res.headersSent)
        send(res, 500, errorBody(xksError('InternalException', 'Internal error')));
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  let clientPolicy = mtlsPolicy(config);
  // A refused client certificate ends the handshake with a TLS alert (mtls-gate.ts); the
  // subject check below stays as a second line.
  if (clientPolicy !== undefined) installMtlsGate(server, () => clientPolicy, log, now);
  if (allowedSubjects !== undefined) {
    server.on('secureConnection', (sock: TLSSocket) => {
      const cn = sock.getPeerCertificate()?.subject?.CN;
      const names = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
      /* Precondition: the client certificate's subject is an allowed one (spec: mTLS). */
      if (!names.some((n) => allowedSubjects.includes(n))) {
        log.warn({ subject: names.join(',') }, 'xks-proxy: client certificate subject not allowed');
        sock.destroy();
      }
    });
  }
  server.on('tlsClientError', (err) =>
    log.debug({ err: err.message }, 'xks-proxy: TLS handshake failed'),
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?')[0] ?? '/';
    // Load balancer health check (spec: the proxy MUST answer one; unauthenticated, no state).
    if (path === '/ping' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('pong\n');
      return;
    }
    const m = API_RE.exec(path);
    if (m === null) {
      return fail(
        res,
        'unknown',
        xksError('InvalidUriPathException', `Unknown URI path ${path.slice(0, 200)}`),
      );
    }
    const [, prefix, health, keyId, opName] = m;
    const op: XksOperation =
      health !== undefined ? 'GetHealthStatus' : OPS[opName as keyof typeof OPS];
    /* Precondition: the four APIs are POST only (spec: GET MUST be answered with 405). */
    if (req.method !== 'POST') {
      req.resume();
      res
        .writeHead(405, { allow: 'POST', 'content-type': 'application/json' })
        .end(JSON.stringify({ errorMessage: `Method ${req.method ?? ''} not allowed; use POST` }));
      xksRequests.inc({ operation: op, outcome: 'MethodNotAllowed' });
      return;
    }
    if (prefix !== config.uriPrefix) {
      req.resume();
      return fail(res, op, xksError('InvalidUriPathException', 'Unknown URI path prefix'));
    }
    const end = xksRequestDuration.startTimer({ operation: op });
    let body: Buffer;
    try {
      body = await readBody(req, config.limits.maxBodyBytes);
    } catch (err) {
      end();
      res.setHeader('connection', 'close');
      return fail(res, op, err as XksError);
    }
    let metadata: RequestMetadata | undefined;
    try {
      const accessKeyId = await credentials.verify(
        { method: 'POST', host: req.headers.host ?? '', path: rawUrl, headers: req.headers, body },
        now(),
      );
      xksCredentialUse.inc({ access_key_id: accessKeyId });
      // Taken only once the request authenticates: unsigned requests cannot spend the budget
      // of signed ones.
      /* Precondition: within the configured request rate (spec: ThrottlingException). */
      if (!limiter.take()) throw xksError('ThrottlingException', 'Too many requests; slow down');
      /* Precondition: the external key id is one the spec allows (else no such key can exist). */
      if (keyId !== undefined && !KEY_ID_RE.test(keyId)) {
        throw xksError('KeyNotFoundException', 'The external key id is not a valid id');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw xksError('ValidationException', 'The request body is not valid JSON');
      }
      const r = await runOperation(ctx, op, keyId, parsed);
      metadata = r.metadata;
      send(res, 200, r.response);
      xksRequests.inc({ operation: op, outcome: 'ok' });
      logLine(op, keyId, metadata, 'ok', end());
    } catch (err) {
      const e =
        err instanceof XksError ? err : xksError('InternalException', 'Internal error', err);
      if (!(err instanceof XksError)) log.error({ err: String(err) }, 'xks-proxy: internal error');
      fail(res, op, e);
      logLine(op, keyId, metadata ?? peekMetadata(body), e.errorName, end());
    } finally {
      // The raw body holds the (Base64) plaintext of an Encrypt: do not leave it to the GC.
      body.fill(0);
    }
  }

  function logLine(
    op: string,
    keyId: string | undefined,
    md: Partial<RequestMetadata> | undefined,
    outcome: string,
    seconds: number,
  ): void {
    log.info(
      {
        operation: op,
        keyId,
        kmsRequestId: md?.kmsRequestId,
        kmsOperation: md?.kmsOperation,
        awsPrincipalArn: md?.awsPrincipalArn,
        kmsKeyArn: md?.kmsKeyArn,
        outcome,
        ms: Math.round(seconds * 1e4) / 10,
      },
      'xks-proxy request',
    );
  }

  function fail(res: ServerResponse, op: string, e: XksError): void {
    xksRequests.inc({ operation: op, outcome: e.errorName });
    xksErrors.inc({ operation: op, error: e.errorName, status: String(e.status) });
    send(res, e.status, errorBody(e));
  }

  await listen(server, config.port, config.host);
  const port = (server.address() as AddressInfo).port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;

  let metricsServer: HttpServer | undefined;
  let metricsUrl: string | undefined;
  if (config.metrics !== undefined) {
    metricsServer = createHttpServer((req, res) => {
      if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    await listen(metricsServer, config.metrics.port, config.metrics.host);
    metricsUrl = `http://${config.metrics.host}:${(metricsServer.address() as AddressInfo).port}/metrics`;
  }

  return {
    url: `https://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    port,
    uriPrefix: config.uriPrefix,
    ...(metricsUrl !== undefined ? { metricsUrl } : {}),
    backend: opts.backend,
    setCredentials: (c) => credentials.setCredentials(c),
    setAuthorization: (p) => {
      ctx.authorization = p;
    },
    reload(next) {
      validateXksProxyConfig(next);
      credentials.setCredentials(next.credentials);
      ctx.authorization = next.authorization;
      ctx.config = next;
      limiter.setRate(next.limits.maxRequestsPerSecond);
      server.setSecureContext(tlsOptions(next));
      if (clientPolicy !== undefined) clientPolicy = mtlsPolicy(next) ?? clientPolicy;
    },
    async close() {
      untrack();
      server.closeAllConnections();
      await Promise.all([
        close(server),
        metricsServer !== undefined ? close(metricsServer) : undefined,
      ]);
    },
  };
}

function peekMetadata(body: Buffer): Partial<RequestMetadata> | undefined {
  try {
    const md = (JSON.parse(body.toString('utf8')) as { requestMetadata?: Record<string, unknown> })
      .requestMetadata;
    if (md === undefined || md === null || typeof md !== 'object') return undefined;
    const s = (v: unknown) => (typeof v === 'string' ? v.slice(0, 2048) : undefined);
    return {
      kmsRequestId: s(md.kmsRequestId),
      kmsOperation: s(md.kmsOperation),
      awsPrincipalArn: s(md.awsPrincipalArn),
      kmsKeyArn: s(md.kmsKeyArn),
    } as Partial<RequestMetadata>;
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      req.resume();
      reject(
        xksError('UnsupportedOperationException', `The request body is larger than ${max} bytes`),
      );
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.destroy();
        reject(
          xksError('UnsupportedOperationException', `The request body is larger than ${max} bytes`),
        );
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    .end(text);
}

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
