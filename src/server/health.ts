/**
 * GET /health (liveness: the process answers) and GET /ready (readiness: storage reachable
 * and writable, migrations applied, audit writable; 503 otherwise, and while shutting down,
 * so a load balancer stops sending before the node goes away).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Readiness {
  ok: boolean;
  checks: Record<string, string>;
}

/** Answer /health or /ready; false when the request is for another path. */
export function serveHealth(
  req: IncomingMessage,
  res: ServerResponse,
  readiness: () => Promise<Readiness>,
): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
    return true;
  }
  if (path !== '/ready') return false;
  const answer = (status: number, body: unknown) => {
    if (!res.headersSent)
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  readiness().then(
    (r) => answer(r.ok ? 200 : 503, { status: r.ok ? 'ready' : 'not ready', checks: r.checks }),
    (err: unknown) =>
      answer(503, { status: 'not ready', checks: { node: (err as Error).message } }),
  );
  return true;
}
