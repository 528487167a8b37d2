/**
 * Build a node's custom key store service and register one connector per store type.
 * (The EXTERNAL_KEY_STORE connector registers here too, from keystores/xks/.)
 */
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { GcmInvocationBudget } from '../hsm/gcm-budget.js';
import type { Hsm } from '../hsm/hsm.js';
import type { Clock } from '../config/clock.js';
import type { Storage } from '../storage/repository.js';
import { CloudHsmConnector } from './cloudhsm/cloudhsm-connector.js';
import { CustomKeyStoreService } from './service.js';
import { XksConnector } from './xks/xks-connector.js';

export function setupCustomKeyStores(
  config: Readonly<Config>,
  storage: Storage,
  hsm: Hsm,
  clock: Clock,
  logger?: Logger,
): CustomKeyStoreService {
  const service = new CustomKeyStoreService(storage, hsm, clock, {
    transitionDelayMs: config.customKeyStoreTransitionDelayMs,
    logger,
  });
  // Token keys encrypt with random IVs: count their invocations in storage (crypto bound).
  const gcm = new GcmInvocationBudget(
    { reserve: (id, n) => storage.customKeyStores.reserveGcmInvocations(id, n) },
    { limit: config.gcmInvocationLimit },
  );
  service.register(new CloudHsmConnector(config.cloudHsmClusters, gcm));
  service.register(
    new XksConnector({
      hsm,
      transport: config.xks,
      healthCheckIntervalMs: config.xks.healthCheckIntervalMs,
      logger,
    }),
  );
  return service;
}
