/** Small helpers over Node's HTTP messages shared by the KMS, STS and admin front ends. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** One header as a string (repeated headers joined with commas). */
export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The caller's address, IPv4-mapped IPv6 shown as IPv4 (aws:SourceIp, audit). */
export function sourceIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** Write a whole response with AWS's request id header. */
export function sendBody(
  res: ServerResponse,
  status: number,
  requestId: string,
  contentType: string,
  body: string,
): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
  });
  res.end(body);
}
