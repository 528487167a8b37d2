/**
 * Prometheus metrics of the XKS proxy, on the process's one registry (src/metrics). Labels
 * carry operation and error names, backend kind and access key ids (not secret; spec: the
 * id "must not reveal the secret") — never key ids' material, AAD or plaintext.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../metrics/registry.js';

const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export const xksRequests = new Counter({
  name: 'keyhold_xks_proxy_requests_total',
  help: 'XKS proxy API requests by operation and outcome (ok or the errorName)',
  labelNames: ['operation', 'outcome'] as const,
  registers: [registry],
});

export const xksRequestDuration = new Histogram({
  name: 'keyhold_xks_proxy_request_duration_seconds',
  help: 'XKS proxy API request latency (authenticated request in, response out) by operation',
  labelNames: ['operation'] as const,
  buckets,
  registers: [registry],
});

export const xksErrors = new Counter({
  name: 'keyhold_xks_proxy_errors_total',
  help: 'XKS proxy error responses by errorName and HTTP status',
  labelNames: ['operation', 'error', 'status'] as const,
  registers: [registry],
});

export const xksBackendDuration = new Histogram({
  name: 'keyhold_xks_proxy_backend_duration_seconds',
  help: 'Time spent in the key backend (software key file or PKCS#11 token) per call',
  labelNames: ['backend', 'call'] as const,
  buckets,
  registers: [registry],
});

interface CredentialSource {
  describe(): { accessKeyId: string; createdAt: Date }[];
}
/** Live credential sets of the proxies running in this process (usually one). */
const sources = new Set<CredentialSource>();

/** Report a proxy's credentials in the gauges below until the returned function is called. */
export function trackCredentials(src: CredentialSource): () => void {
  sources.add(src);
  return () => sources.delete(src);
}

export const xksCredentials = new Gauge({
  name: 'keyhold_xks_proxy_credentials',
  help: 'Number of live SigV4 credentials (more than one during a rotation)',
  registers: [registry],
  collect() {
    let n = 0;
    for (const s of sources) n += s.describe().length;
    this.set(n);
  },
});

export const xksCredentialAge = new Gauge({
  name: 'keyhold_xks_proxy_credential_age_seconds',
  help: 'Age of each live SigV4 credential (XksProxyCredentialAge), by access key id',
  labelNames: ['access_key_id'] as const,
  registers: [registry],
  collect() {
    this.reset();
    const now = Date.now();
    for (const s of sources) {
      for (const c of s.describe()) {
        this.set({ access_key_id: c.accessKeyId }, (now - c.createdAt.getTime()) / 1000);
      }
    }
  },
});

export const xksCredentialUse = new Counter({
  name: 'keyhold_xks_proxy_credential_requests_total',
  help: 'Authenticated requests per access key id (shows when an old credential is unused)',
  labelNames: ['access_key_id'] as const,
  registers: [registry],
});

/** Time a backend call into the histogram. */
export async function timeBackend<T>(
  backend: string,
  call: string,
  f: () => Promise<T>,
): Promise<T> {
  const end = xksBackendDuration.startTimer({ backend, call });
  try {
    return await f();
  } finally {
    end();
  }
}
