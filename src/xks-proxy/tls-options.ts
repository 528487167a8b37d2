/**
 * TLS settings of the proxy. Spec "Transport": TLS 1.2 or later, with the cipher suites
 * TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256 (TLS 1.3) and
 * TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 / TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (TLS 1.2).
 * The proxy offers exactly those and nothing else.
 */
import { constants } from 'node:crypto';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { XksProxyConfig } from './config.js';

/** OpenSSL names; Node takes TLS 1.3 suites (TLS_*) in the same list. */
export const XKS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
].join(':');

export function tlsOptions(
  cfg: Pick<XksProxyConfig, 'tls' | 'mtls'>,
): TlsOptions & SecureContextOptions {
  return {
    cert: cfg.tls.cert,
    key: cfg.tls.key,
    minVersion: 'TLSv1.2',
    ciphers: XKS_CIPHERS,
    honorCipherOrder: true,
    ...(cfg.mtls !== undefined
      ? {
          // Spec (mTLS): the proxy MUST let the customer configure the root CA and the subject
          // and MUST terminate the handshake on a mismatch. A certificate that does not chain
          // to `ca` fails the handshake with an alert; the subject is checked on
          // secureConnection (server.ts), before any HTTP is read.
          ca: cfg.mtls.ca,
          requestCert: true,
          rejectUnauthorized: true,
          // The handshake gate (mtls-gate.ts) judges the certificate of the first handshake;
          // a TLS 1.2 renegotiation (encrypted) could present another one unseen.
          secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
        }
      : {}),
  };
}
