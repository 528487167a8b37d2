/**
 * PKCS#11 session pool metrics: sessions in use / idle / pool bound per open token, and
 * sessions dropped after a fatal CKR_* code. Labels name tokens, never PINs or keys.
 */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.js';

/** One pool's sessions: open (size), running a call, idle, and the bound. */
export interface PoolStats {
  size: number;
  inUse: number;
  idle: number;
  max: number;
}

/** Pools to report, by token label (set by Token.open, removed by Token.close). */
export const livePools = new Map<string, () => PoolStats>();

function poolGauge(name: string, help: string, pick: (s: PoolStats) => number): Gauge {
  return new Gauge({
    name,
    help,
    labelNames: ['token'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [token, stats] of livePools) this.set({ token }, pick(stats()));
    },
  });
}

poolGauge(
  'keyhold_pkcs11_sessions_in_use',
  'PKCS#11 sessions currently running a call',
  (s) => s.inUse,
);
poolGauge(
  'keyhold_pkcs11_sessions_idle',
  'PKCS#11 sessions open and idle in the pool',
  (s) => s.idle,
);
poolGauge('keyhold_pkcs11_pool_size', 'Maximum PKCS#11 sessions per token pool', (s) => s.max);

export const droppedSessions = new Counter({
  name: 'keyhold_pkcs11_sessions_dropped_total',
  help: 'PKCS#11 sessions closed after a fatal CKR_* code',
  labelNames: ['token', 'ckr'],
  registers: [registry],
});
