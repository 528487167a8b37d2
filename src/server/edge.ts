/**
 * Connection limits of the API listener: no caller, authenticated or not, can hold the
 * server's sockets or memory. Node's own timeouts cover slow headers and slow bodies (408);
 * what Node leaves open is added here: a socket that never sends a byte, and a cap on open
 * connections answered with an HTTP 503 instead of a silent drop.
 */
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpLimits } from '../config/config.js';

/** Idle keep-alive connections are kept this long; nginx's upstream keepalive_timeout is lower. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A refused socket, or one answered before its body was read, is destroyed after this. */
const LINGER_MS = 2_000;

const REFUSAL_BODY = JSON.stringify({
  __type: 'ServiceUnavailableException',
  message: 'The server has too many open connections. Retry later.',
});
const REFUSAL =
  'HTTP/1.1 503 Service Unavailable\r\n' +
  'Content-Type: application/x-amz-json-1.1\r\n' +
  `Content-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n` +
  'Retry-After: 1\r\n' +
  'Connection: close\r\n\r\n' +
  REFUSAL_BODY;

/**
 * An HTTP server with the limits applied. `onRequest` also receives requests that carry
 * `Expect: 100-continue` (flagged), so it can answer 100 only after authenticating headers.
 */
export function createGuardedServer(
  limits: Readonly<HttpLimits>,
  onRequest: (...args: [...Parameters<RequestListener>, expectsContinue: boolean]) => void,
): Server {
  const server = createServer({
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks the two timeouts above only this often (default 30 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, limits.headersTimeoutMs / 4)),
  });
  server.on('request', (req, res) => {
    // The request has started: the first-byte idle timer is done (Node's own timers take over).
    req.socket.setTimeout(0);
    onRequest(req, res, false);
  });
  server.on('checkContinue', (req, res) => {
    req.socket.setTimeout(0);
    onRequest(req, res, true);
  });
  guardConnections(server, limits);
  return server;
}

/**
 * Count connections and refuse those over the cap before Node's HTTP parser sees them; arm
 * the idle timer of every accepted socket (Node's socket timeout handler destroys it).
 */
function guardConnections(server: Server, limits: Readonly<HttpLimits>): void {
  const httpListeners = server.listeners('connection') as ((s: Socket) => void)[];
  server.removeAllListeners('connection');
  let open = 0;
  server.on('connection', (socket: Socket) => {
    if (open >= limits.maxConnections) {
      refuse(socket);
      return;
    }
    open += 1;
    socket.once('close', () => (open -= 1));
    for (const l of httpListeners) l.call(server, socket);
    socket.setTimeout(limits.idleTimeoutMs);
  });
}

/** Answer 503 and close, reading (and dropping) what the client sends so it sees the answer. */
function refuse(socket: Socket): void {
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  socket.end(REFUSAL);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/**
 * For an answer sent before the request body was read (413, an authentication error): close
 * the connection after it, but as nginx's "lingering close" does. Closing a socket with
 * unread input makes the kernel send a reset, which can destroy the answer before the client
 * reads it; so half-close, let Node drain (and drop) the rest of the body, and destroy the
 * socket after LINGER_MS at the latest. Node calls `destroySoon()` once a `Connection:
 * close` response is finished.
 */
export function closeAfterAnswer(res: ServerResponse): void {
  res.setHeader('Connection', 'close');
  const socket = res.socket as (Socket & { destroySoon?: () => void }) | null;
  if (socket === null) return;
  socket.destroySoon = () => {
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
}
