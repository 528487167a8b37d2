/**
 * One config schema: defaults < KEYHOLD_* environment < command-line flags, validated
 * into one frozen object at start. Every setting is an entry of the table in settings.ts
 * (environment variable, flag, default, parser, secret or not); this file assembles the
 * resolved values into Config and checks what spans settings. Secrets come by value from
 * the environment or by reference (`<NAME>_FILE`) and are never printed.
 */
import { readFileSync } from 'node:fs';
import type { CloudHsmClusterConfig } from './cloudhsm-clusters.js';
import { ConfigError, fail } from './config-error.js';
import {
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_REPLICA_CREATION_MS,
  MAX_WORKERS,
  resolveSettings,
  type SettingValues,
} from './settings.js';

export {
  ConfigError,
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_REPLICA_CREATION_MS,
  MAX_WORKERS,
};

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** The Region the server answers for by default; more in `regions`. */
  region: string;
  regions: readonly string[];
  accountId: string;
  bootstrapAccessKeyId?: string | undefined;
  bootstrapSecretAccessKey?: string | undefined;
  rootPassphrase?: string | undefined;
  domainKeyRotationHours: number;
  /** Allowed clock skew for SigV4, seconds (AWS: 5 minutes). */
  maxSkewSeconds: number;
  logLevel: string;
  /** Flush audit in groups of at most this many events. */
  auditMaxBatch: number;
  /**
   * Start on an audit log that is missing, behind or replaced with respect to its anchor,
   * recording a log reset (`--audit-reset`, KEYHOLD_AUDIT_RESET=1); otherwise refuse.
   */
  auditReset: boolean;
  /** Identities seed file applied at start (docs/identities.md). */
  seedFile?: string | undefined;
  /** Request quotas (docs/operations.md, "Request quotas"); KEYHOLD_QUOTAS=off disables them. */
  quotas: boolean;
  /** Multiplies every request quota (KEYHOLD_QUOTA_SCALE); 1 = AWS's defaults. */
  quotaScale: number;
  /** Per-operation rates replacing the defaults (KEYHOLD_QUOTA_RPS=`ListKeys=50,CreateKey=20`). */
  quotaRps: Readonly<Record<string, number>>;
  /** PKCS#11 clusters for CloudHSM-type custom key stores (KEYHOLD_CLOUDHSM_CLUSTERS, JSON). */
  cloudHsmClusters: Readonly<Record<string, CloudHsmClusterConfig>>;
  /**
   * AES-GCM encryptions allowed per CloudHSM-type token key (random 96-bit IVs, SP 800-38D;
   * KEYHOLD_GCM_INVOCATION_LIMIT, default 2^30, at most 2^32). docs/security.md, "Crypto bounds".
   */
  gcmInvocationLimit: number;
  /** Extra delay of custom key store connect/disconnect, ms (tests/demos observe CONNECTING). */
  customKeyStoreTransitionDelayMs: number;
  /** Serve Prometheus metrics at GET /metrics (KEYHOLD_METRICS=off hides them). */
  metrics: boolean;
  /** How long a ReplicateKey replica stays Creating, ms (KEYHOLD_REPLICA_CREATION_MS). */
  replicaCreationMs: number;
  /**
   * The metrics listener, apart from the API: its labels name key stores and tokens, not for
   * anonymous callers (KEYHOLD_METRICS_HOST, default loopback; KEYHOLD_METRICS_PORT, default
   * 9420, or an ephemeral port when the API port is ephemeral).
   */
  metricsHost: string;
  metricsPort: number;
  /** HTTP limits that protect the API listener (docs/security.md). */
  http: HttpLimits;
  /**
   * `postgres://…` (libpq-style, several hosts allowed) selects the PostgreSQL adapter for
   * keys and audit; unset = SQLite in the data dir (docs/storage.md).
   */
  storageUrl?: string | undefined;
  /** This node's id (its audit chain and lease owner); default: generated into the data dir. */
  nodeId?: string | undefined;
  /** External key stores: the XKS client's transport (docs/custom-key-stores.md). */
  xks: XksConfig;
  /**
   * Processes serving the port (`--workers`, KEYHOLD_WORKERS; default: the number of
   * cores). 1 = one process, no cluster (docs/deployment.md, "Workers").
   */
  workers: number;
  /**
   * Set in a worker of `--workers N` (1..N): its audit chain, job-lease owner and metrics
   * go by it. Unset in a single process.
   */
  workerId?: number | undefined;
}

export interface XksConfig {
  /** Per-request deadline to the proxy, ms (KEYHOLD_XKS_CLIENT_TIMEOUT_MS; AWS: 250). */
  timeoutMs: number;
  /** PEM CA certificates trusted besides the system roots (KEYHOLD_XKS_CLIENT_CA_FILE, a bundle). */
  extraCa: readonly string[];
  /** `host=address:port,...` dialled instead of host:443 (KEYHOLD_XKS_CLIENT_CONNECT_TO). */
  connectTo: ReadonlyMap<string, { host: string; port: number }>;
  /** GetHealthStatus interval of connected stores, ms (KEYHOLD_XKS_CLIENT_HEALTH_CHECK_SECONDS; 0 = off). */
  healthCheckIntervalMs: number;
}

export interface HttpLimits {
  /** Open connections accepted at once; more get 503 and are closed (KEYHOLD_MAX_CONNECTIONS). */
  maxConnections: number;
  /** A socket silent this long before its first request is closed (KEYHOLD_IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number;
  /** Complete request headers must arrive within this (KEYHOLD_HEADERS_TIMEOUT_MS; 408). */
  headersTimeoutMs: number;
  /** The whole request, headers and body, within this (KEYHOLD_REQUEST_TIMEOUT_MS; 408). */
  requestTimeoutMs: number;
}

export type ConfigOverrides = Partial<
  Pick<
    Config,
    | 'host'
    | 'port'
    | 'dataDir'
    | 'region'
    | 'accountId'
    | 'logLevel'
    | 'seedFile'
    | 'storageUrl'
    | 'auditReset'
    | 'workers'
    | 'workerId'
  >
>;

export function loadConfig(
  flags: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Readonly<Config> {
  const v = resolveSettings(flags, env);
  const cfg: Config = {
    host: v.host,
    port: v.port,
    dataDir: v.dataDir,
    region: v.region,
    regions: Object.freeze([...new Set([v.region, ...v.regions])]),
    accountId: v.accountId,
    bootstrapAccessKeyId: v.bootstrapAccessKeyId,
    bootstrapSecretAccessKey: v.bootstrapSecretAccessKey,
    rootPassphrase: v.rootPassphrase,
    domainKeyRotationHours: v.domainKeyRotationHours,
    maxSkewSeconds: 300,
    logLevel: v.logLevel,
    auditMaxBatch: 512,
    auditReset: v.auditReset,
    seedFile: v.seedFile,
    quotas: v.quotas,
    quotaScale: v.quotaScale,
    quotaRps: v.quotaRps,
    cloudHsmClusters: v.cloudHsmClusters,
    customKeyStoreTransitionDelayMs: v.customKeyStoreTransitionDelayMs,
    gcmInvocationLimit: v.gcmInvocationLimit,
    metrics: v.metrics,
    replicaCreationMs: v.replicaCreationMs,
    metricsHost: v.metricsHost,
    // An ephemeral API port (tests, several nodes on one host) gets an ephemeral metrics port.
    metricsPort: v.metricsPort ?? (v.port === 0 ? 0 : DEFAULT_METRICS_PORT),
    http: httpLimits(v),
    storageUrl: v.storageUrl,
    nodeId: v.nodeId,
    xks: xksConfig(v),
    workers: v.workers,
    workerId: flags.workerId,
  };
  validate(cfg);
  return Object.freeze(cfg);
}

function httpLimits(v: SettingValues): HttpLimits {
  const limits: HttpLimits = {
    maxConnections: v.maxConnections,
    idleTimeoutMs: v.idleTimeoutMs,
    headersTimeoutMs: v.headersTimeoutMs,
    requestTimeoutMs: v.requestTimeoutMs,
  };
  if (limits.maxConnections < 1) fail('KEYHOLD_MAX_CONNECTIONS must be at least 1');
  if (limits.idleTimeoutMs < 1) fail('KEYHOLD_IDLE_TIMEOUT_MS must be positive');
  if (limits.headersTimeoutMs < 1) fail('KEYHOLD_HEADERS_TIMEOUT_MS must be positive');
  // Node refuses a headers timeout longer than the request timeout.
  if (limits.requestTimeoutMs < limits.headersTimeoutMs)
    fail('KEYHOLD_REQUEST_TIMEOUT_MS must be at least KEYHOLD_HEADERS_TIMEOUT_MS');
  return Object.freeze(limits);
}
function validate(cfg: Config): void {
  if (!Number.isInteger(cfg.port) || cfg.port < 0 || cfg.port > 65535)
    fail(`port ${cfg.port} is not a TCP port`);
  if (!Number.isInteger(cfg.metricsPort) || cfg.metricsPort < 0 || cfg.metricsPort > 65535)
    fail(`metrics port ${cfg.metricsPort} is not a TCP port`);
  if (!/^\d{12}$/.test(cfg.accountId)) fail(`account id '${cfg.accountId}' must be 12 digits`);
  for (const r of cfg.regions)
    if (!/^([a-z]+-){2,3}\d+$/.test(r)) fail(`region '${r}' is not a Region name`);
  if ((cfg.bootstrapAccessKeyId === undefined) !== (cfg.bootstrapSecretAccessKey === undefined)) {
    fail('set both KEYHOLD_ACCESS_KEY_ID and KEYHOLD_SECRET_ACCESS_KEY, or neither');
  }
  if (
    cfg.bootstrapAccessKeyId !== undefined &&
    !/^[A-Z0-9]{16,128}$/.test(cfg.bootstrapAccessKeyId)
  ) {
    fail('KEYHOLD_ACCESS_KEY_ID must be 16-128 upper-case letters and digits');
  }
  if (cfg.domainKeyRotationHours < 1) fail('KEYHOLD_DOMAIN_KEY_ROTATION_HOURS must be at least 1');
  if (cfg.gcmInvocationLimit < 1 || cfg.gcmInvocationLimit > 2 ** 32)
    fail('KEYHOLD_GCM_INVOCATION_LIMIT must be from 1 to 4294967296 (2^32)');
  if (!(cfg.quotaScale > 0)) fail('KEYHOLD_QUOTA_SCALE must be a positive number');
  if (cfg.storageUrl !== undefined && !/^postgres(ql)?:\/\/./.test(cfg.storageUrl))
    fail('the storage URL must be postgres://… (leave it unset for SQLite)');
  if (cfg.nodeId !== undefined && !/^[A-Za-z0-9._:-]{1,64}$/.test(cfg.nodeId))
    fail('KEYHOLD_NODE_ID must be 1-64 letters, digits, . _ : -');
  if (!Number.isInteger(cfg.workers) || cfg.workers < 1 || cfg.workers > MAX_WORKERS)
    fail(`the number of workers must be 1-${MAX_WORKERS} (--workers, KEYHOLD_WORKERS)`);
  if (cfg.workerId !== undefined && !(cfg.workerId >= 1 && cfg.workerId <= cfg.workers))
    fail(`worker id ${cfg.workerId} is not 1-${cfg.workers}`);
}

function xksConfig(v: SettingValues): XksConfig {
  const caFile = v.xksClientCaFile;
  const extraCa =
    caFile === undefined
      ? []
      : (readFileSync(caFile, 'utf8').match(
          /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
        ) ?? fail(`KEYHOLD_XKS_CLIENT_CA_FILE ${caFile} holds no PEM certificate`));
  const timeoutMs = v.xksClientTimeoutMs;
  if (timeoutMs < 1) fail('KEYHOLD_XKS_CLIENT_TIMEOUT_MS must be positive');
  const health = v.xksClientHealthCheckSeconds;
  if (health < 0) fail('KEYHOLD_XKS_CLIENT_HEALTH_CHECK_SECONDS must not be negative');
  return Object.freeze({
    timeoutMs,
    extraCa: Object.freeze(extraCa),
    connectTo: v.xksClientConnectTo,
    healthCheckIntervalMs: Math.round(health * 1000),
  });
}
