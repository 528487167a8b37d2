/**
 * The Prometheus text exposition of this process's registry, on its own listener (default
 * loopback): metric labels name key stores, PKCS#11 token labels and proxy credentials,
 * which anonymous callers of the API listener must not read.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registry } from './registry.js';

export interface MetricsListener {
  /** `http://host:port/metrics` as bound. */
  url: string;
  close(): Promise<void>;
}

export function serveMetrics(res: ServerResponse): void {
  registry.metrics().then(
    (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
    () => res.writeHead(500).end(),
  );
}

/** Listen for `GET /metrics` (and nothing else) on host:port. */
export async function startMetricsListener(host: string, port: number): Promise<MetricsListener> {
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    req.resume();
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') serveMetrics(res);
    else res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
