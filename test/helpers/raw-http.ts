/**
 * Raw HTTP/1.1 over node:net for edge tests (idle sockets, slow headers, oversized bodies,
 * 100-continue), and SigV4 signing of a KMS JSON request with @smithy/signature-v4.
 */
import { connect, type Socket } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY } from './server.js';

export interface RawConnection {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server closed the connection (or it errored): ms since connect. */
  closed: Promise<number>;
  /** Resolves once `text` has been received (rejects after `ms`). */
  waitFor(text: string | RegExp, ms?: number): Promise<string>;
}

export function rawConnect(url: string): Promise<RawConnection> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(u.port), u.hostname);
    let data = '';
    const waiters = new Set<() => void>();
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      for (const w of waiters) w();
    });
    const closed = new Promise<number>((res) => {
      socket.on('close', () => res(Date.now() - started));
    });
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closed,
        waitFor: (text, ms = 5_000) =>
          new Promise((res, rej) => {
            const match = () => (typeof text === 'string' ? data.includes(text) : text.test(data));
            if (match()) return res(data);
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`timed out waiting for ${String(text)}; got ${data.slice(0, 300)}`));
            }, ms);
            const check = () => {
              if (!match()) return;
              clearTimeout(timer);
              waiters.delete(check);
              res(data);
            };
            waiters.add(check);
            void closed.then(() => setTimeout(check, 0));
          }),
      }),
    );
    socket.once('error', reject);
  });
}

/** Status line, headers (lower-cased) and body of the first response in `raw`. */
export function parseResponse(raw: string): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, end).split('\r\n');
  const status = Number((head[0] ?? '').split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const length = Number(headers['content-length'] ?? '0');
  return { status, headers, body: raw.slice(end + 4, end + 4 + length) };
}

export interface SignedKmsRequest {
  /** Header lines (with CRLFs) up to and including the blank line. */
  head: string;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A KMS JSON request signed as the SDK signs it; `extra` headers are signed too, `unsigned`
 * ones are added after signing. A `target` of undefined leaves X-Amz-Target out of the
 * signature (give it in `unsigned`).
 */
export async function signKmsRequest(
  url: string,
  target: string | undefined,
  body: string,
  extra: Record<string, string> = {},
  unsigned: Record<string, string> = {},
  credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
  service = 'kms',
): Promise<SignedKmsRequest> {
  const u = new URL(url);
  const signer = new SignatureV4({
    credentials,
    region: 'us-east-1',
    service,
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const bytes = Buffer.from(body, 'utf8');
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: '/',
      headers: {
        host: u.host,
        'content-type': 'application/x-amz-json-1.1',
        ...(target !== undefined ? { 'x-amz-target': target } : {}),
        ...extra,
      },
      body: bytes,
    }),
  );
  const headers = { ...(signed.headers as Record<string, string>), ...unsigned };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return { head: `POST / HTTP/1.1\r\n${lines.join('')}\r\n`, headers, body: bytes };
}
