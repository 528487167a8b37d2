/**
 * Wires the mTLS handshake gate (mtls-gate.ts) into the proxy's HTTPS server: every TCP
 * connection passes through a gate before Node's TLS layer sees it, and the server's keylog
 * lines (TLS 1.3 secrets) go to the gate of their connection. Only when mTLS is configured.
 */
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { clientChainProblem, parseCaBundle, type ClientCertPolicy } from './client-cert-check.js';
import type { XksProxyConfig } from './config.js';
import { MtlsGate, onServerKeylog } from './mtls-gate.js';

export function mtlsPolicy(cfg: Pick<XksProxyConfig, 'mtls'>): ClientCertPolicy | undefined {
  if (cfg.mtls === undefined) return undefined;
  return { trust: parseCaBundle(cfg.mtls.ca), allowedSubjects: cfg.mtls.allowedSubjects };
}

/**
 * Put the gate in front of `server`'s TLS connection handling. `policy()` is read per
 * handshake, so a reload applies to new connections.
 */
export function installMtlsGate(
  server: HttpsServer,
  policy: () => ClientCertPolicy | undefined,
  log: Logger,
  now: () => Date,
): void {
  // tls.Server wraps each connection in a TLSSocket from its own 'connection' listener.
  const tlsListeners = server.listeners('connection') as ((s: unknown) => void)[];
  server.removeAllListeners('connection');
  server.on('keylog', (line: Buffer) => onServerKeylog(line));
  server.on('connection', (raw: Socket) => {
    const gate = new MtlsGate(
      raw,
      (chain) => {
        const p = policy();
        return p === undefined ? undefined : clientChainProblem(chain, p, now());
      },
      (reason) => log.warn({ reason, remote: raw.remoteAddress }, 'xks-proxy: mTLS client refused'),
    );
    for (const l of tlsListeners) l.call(server, gate);
  });
}
