/**
 * One Prometheus registry per process, served at GET /metrics. Modules register their own
 * metrics here (`registers: [registry]`) so that each metric lives next to the code it
 * measures. Labels never carry key material, credentials or encryption context values.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'keyhold_' });
