/**
 * Prometheus metrics of the XKS client, after AWS's CloudWatch metrics for external key
 * stores (devguide monitoring-cloudwatch.md: XksProxyLatency, XksProxyErrors,
 * XksProxyCredentialAge). Labels: the store id, the proxy API, the outcome (`success` or the
 * failure kind of xks-errors.ts). Never key material, credentials or request data.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../metrics/registry.js';

const latency = new Histogram({
  name: 'keyhold_xks_client_request_duration_seconds',
  help: 'Latency of requests to XKS proxies (XksProxyLatency), by key store and proxy API',
  labelNames: ['custom_key_store_id', 'operation'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1],
  registers: [registry],
});

const requests = new Counter({
  name: 'keyhold_xks_client_requests_total',
  help: 'Requests to XKS proxies by key store, proxy API and outcome (success or failure kind)',
  labelNames: ['custom_key_store_id', 'operation', 'outcome'] as const,
  registers: [registry],
});

/** When each store's proxy authentication credential was set (create or update). */
const credentialSetAt = new Map<string, number>();

new Gauge({
  name: 'keyhold_xks_client_credential_age_seconds',
  help: 'Seconds since the XKS proxy authentication credential of a key store was set or updated (XksProxyCredentialAge)',
  labelNames: ['custom_key_store_id'] as const,
  registers: [registry],
  collect() {
    this.reset();
    const now = Date.now();
    for (const [id, at] of credentialSetAt)
      this.set({ custom_key_store_id: id }, Math.max(0, (now - at) / 1000));
  },
});

export function observeXksRequest(
  storeId: string,
  operation: string,
  outcome: string,
  seconds: number,
): void {
  latency.observe({ custom_key_store_id: storeId, operation }, seconds);
  requests.inc({ custom_key_store_id: storeId, operation, outcome });
}

/** Record when the store's credential was set; the gauge reports its age. */
export function setCredentialTime(storeId: string, at: Date): void {
  credentialSetAt.set(storeId, at.getTime());
}

/** Whether the credential time of a store is known (set this process). */
export function hasCredentialTime(storeId: string): boolean {
  return credentialSetAt.has(storeId);
}

/** The store is gone: stop reporting its credential age. */
export function forgetStore(storeId: string): void {
  credentialSetAt.delete(storeId);
}

const proxyUp = new Gauge({
  name: 'keyhold_xks_client_proxy_up',
  help: 'Whether the last GetHealthStatus of a connected external key store succeeded (1) or not (0)',
  labelNames: ['custom_key_store_id'] as const,
  registers: [registry],
});

/** The last health verdict of a connected store; undefined removes it (disconnected). */
export function setProxyUp(storeId: string, up: boolean | undefined): void {
  if (up === undefined) proxyUp.remove({ custom_key_store_id: storeId });
  else proxyUp.set({ custom_key_store_id: storeId }, up ? 1 : 0);
}
