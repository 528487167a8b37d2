/** GET /metrics: the Prometheus text exposition of this process's registry. */
import type { ServerResponse } from 'node:http';
import { registry } from './registry.js';

export function serveMetrics(res: ServerResponse): void {
  registry.metrics().then(
    (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
    () => res.writeHead(500).end(),
  );
}
