/**
 * The proxy's own check of an mTLS client certificate chain, run by the handshake gate
 * (mtls-gate.ts) before OpenSSL finishes the handshake, so that a refused certificate ends
 * the handshake with a TLS alert. Node's TLS server accepts any certificate during the
 * handshake (its verify callback always says yes) and only lets the application drop the
 * connection afterwards. OpenSSL still verifies the chain afterwards (rejectUnauthorized).
 *
 * Accepted: a leaf valid now, with extendedKeyUsage clientAuth if it names any usage,
 * chaining (by name and signature, intermediates valid now and marked CA) to one of the
 * configured CA certificates, valid now; and, when subjects are configured, a subject CN
 * among them.
 */
import { X509Certificate } from 'node:crypto';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const MAX_DEPTH = 8;

export interface ClientCertPolicy {
  trust: readonly X509Certificate[];
  allowedSubjects?: readonly string[] | undefined;
}

/** Every certificate of a PEM bundle (a CA file may hold several roots). */
export function parseCaBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  return (blocks ?? []).map((b) => new X509Certificate(b));
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const t = now.getTime();
  return new Date(cert.validFrom).getTime() <= t && t <= new Date(cert.validTo).getTime();
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** The subject CNs of a certificate (Node renders the subject one `KEY=value` per line). */
export function subjectCns(cert: X509Certificate): string[] {
  return cert.subject
    .split('\n')
    .filter((l) => l.startsWith('CN='))
    .map((l) => l.slice(3));
}

/**
 * Why the chain (leaf first, DER) is refused, or undefined when it is acceptable. The
 * reasons are for the proxy's log only; the client just gets the alert.
 */
export function clientChainProblem(
  chainDer: readonly Buffer[],
  policy: ClientCertPolicy,
  now: Date,
): string | undefined {
  let chain: X509Certificate[];
  try {
    chain = chainDer.map((d) => new X509Certificate(d));
  } catch {
    return 'unparsable certificate';
  }
  const leaf = chain[0];
  if (leaf === undefined) return 'no certificate';
  if (!validAt(leaf, now)) return 'certificate expired or not yet valid';
  const eku = leaf.keyUsage as string[] | undefined;
  if (eku !== undefined && eku.length > 0 && !eku.includes(CLIENT_AUTH)) {
    return 'certificate not for client authentication';
  }
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const anchor = policy.trust.find((t) => t.raw.equals(current.raw) || issuedBy(current, t));
    if (anchor !== undefined) {
      if (!validAt(anchor, now)) return 'CA certificate expired';
      break;
    }
    const next = chain.slice(1).find((c) => c !== current && issuedBy(current, c));
    if (next === undefined) return 'certificate does not chain to the configured CA';
    if (!next.ca || !validAt(next, now)) return 'invalid intermediate certificate';
    current = next;
    if (depth === MAX_DEPTH - 1) return 'certificate chain too long';
  }
  const allowed = policy.allowedSubjects;
  if (allowed !== undefined && !subjectCns(leaf).some((cn) => allowed.includes(cn))) {
    return `subject not allowed: ${subjectCns(leaf).join(',')}`;
  }
  return undefined;
}
