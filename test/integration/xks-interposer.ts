/**
 * A real TLS server that sits between keyhold and a real XKS proxy and misbehaves on demand:
 * forward untouched, delay the answer, answer garbage, or rewrite the proxy's JSON answer
 * (tampered ciphertext, wrong lengths, ...). The Host header is forwarded as is, so the
 * proxy's SigV4 check still sees keyhold's real signature. Not a mock: the proxy behind it
 * does the real work.
 */
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

export type InterposerMode =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'garbage'; status?: number; body: string }
  | {
      kind: 'rewrite';
      /** Called with the API path suffix (e.g. `encrypt`, `health`) and the proxy's JSON. */
      rewrite: (
        api: string,
        status: number,
        json: Record<string, unknown>,
      ) => Record<string, unknown>;
    };

export interface Interposer {
  port: number;
  mode: InterposerMode;
  /** Requests seen, in order: API suffix (`health`, `encrypt`, ...), headers, JSON body. */
  seen: { api: string; headers: Record<string, unknown>; body: Record<string, unknown> }[];
  /** TLS connections accepted so far (a reused keep-alive socket adds none). */
  handshakes: number;
  /** Present another certificate from now on (e.g. one from an untrusted CA). */
  useCert(cert: string, key: string): void;
  close(): Promise<void>;
}

export interface InterposerOptions {
  cert: string;
  key: string;
  /** Where the real proxy listens, and the CA it is trusted with. */
  upstreamPort: number;
  upstreamCa: string;
}

export async function startInterposer(opts: InterposerOptions): Promise<Interposer> {
  const state: Interposer = {
    port: 0,
    mode: { kind: 'pass' },
    seen: [],
    handshakes: 0,
    useCert: () => undefined,
    close: async () => undefined,
  };
  const server: Server = createServer({ cert: opts.cert, key: opts.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const api = (req.url ?? '').split('/').pop() ?? '';
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        // not JSON: recorded as {}
      }
      state.seen.push({ api, headers: { ...req.headers }, body });
      const mode = state.mode;
      if (mode.kind === 'garbage') {
        res.writeHead(mode.status ?? 200, { 'content-type': 'application/json' }).end(mode.body);
        return;
      }
      const up = request(
        {
          host: '127.0.0.1',
          port: opts.upstreamPort,
          servername: 'localhost',
          ca: opts.upstreamCa,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent: false,
        },
        (upRes) => {
          const body: Buffer[] = [];
          upRes.on('data', (c: Buffer) => body.push(c));
          upRes.on('end', () => {
            let text = Buffer.concat(body).toString('utf8');
            const status = upRes.statusCode ?? 500;
            if (mode.kind === 'rewrite') {
              text = JSON.stringify(
                mode.rewrite(api, status, JSON.parse(text) as Record<string, unknown>),
              );
            }
            const send = () =>
              res.writeHead(status, { 'content-type': 'application/json' }).end(text);
            if (mode.kind === 'delay') setTimeout(send, mode.ms);
            else send();
          });
        },
      );
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  server.on('secureConnection', () => state.handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.useCert = (cert, key) => server.setSecureContext({ cert, key });
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/** A TCP port nobody listens on (for "proxy down"). */
export async function closedPort(): Promise<number> {
  const { createServer: tcp } = await import('node:net');
  const s = tcp();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Flip one bit of a base64 field. */
export function flipBase64(b64: unknown, index = 0): string {
  const b = Buffer.from(String(b64), 'base64');
  b[index % b.length] = (b[index % b.length] as number) ^ 0x01;
  return b.toString('base64');
}
