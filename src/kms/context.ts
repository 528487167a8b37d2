/**
 * What an operation handler receives besides its input: who is calling, where, when, and
 * the services below the kms/ layer. No HTTP types here.
 */
import type { Principal } from '../auth/principal.js';
import type { Hsm } from '../hsm/hsm.js';
import type { Storage } from '../storage/repository.js';
import type { KeyUsageTracker } from './keys/last-usage.js';
import type { CustomKeyStoreService } from '../keystores/service.js';
import type { ReplicaCreation } from './jobs/replica-creation.js';
import type { Clock } from '../config/clock.js';

export type { Clock } from '../config/clock.js';

export interface Services {
  storage: Storage;
  hsm: Hsm;
  clock: Clock;
  /** Last-usage tracking (GetKeyLastUsage); absent in offline tools. */
  usage?: KeyUsageTracker | undefined;
  /** The Regions this deployment serves (config `regions`); ReplicateKey targets one of them. */
  regions?: readonly string[] | undefined;
  /** Custom key stores (connection state, connectors); absent in offline tools. */
  customKeyStores?: CustomKeyStoreService | undefined;
  /** Timers that move ReplicateKey replicas out of Creating; absent in offline tools. */
  replicas?: ReplicaCreation | undefined;
}

export interface RequestContext {
  requestId: string;
  region: string;
  principal: Principal;
  sourceIp: string;
  userAgent: string;
  now: Date;
  services: Services;
  /** The KMS operation being served (XKS requestMetadata.kmsOperation). */
  operation?: string | undefined;
  /** Key ARNs this request touched, for the audit event's `resources`. */
  keyArns: string[];
  /** The alias name the caller used as KeyId, if any (condition key kms:RequestAlias). */
  requestAlias?: string | undefined;
  /** Whether the request came over TLS (aws:SecureTransport). */
  secureTransport?: boolean | undefined;
  /** Secret buffers in the response, zeroed once it is serialized. */
  sensitive: Buffer[];
}
