/**
 * One config schema: defaults < KEYHOLD_* environment < command-line flags, validated
 * into one frozen object at start. Secrets come by value from the environment or by
 * reference (a file path) and are never printed.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { OPERATION_QUOTAS } from '../quota/quotas.js';
import { parseCloudHsmClusters, type CloudHsmClusterConfig } from './cloudhsm-clusters.js';

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

/** Most workers one node starts (each holds its own caches, audit writer and database handles). */
export const MAX_WORKERS = 64;

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

export const DEFAULT_PORT = 8420;
export const DEFAULT_METRICS_PORT = 9420;
/** Default of KEYHOLD_REPLICA_CREATION_MS (AWS takes seconds; tests and Terraform wait less). */
export const DEFAULT_REPLICA_CREATION_MS = 250;

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
  const region = flags.region ?? env.KEYHOLD_REGION ?? 'us-east-1';
  const extra = (env.KEYHOLD_REGIONS ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  const cfg: Config = {
    host: flags.host ?? env.KEYHOLD_HOST ?? '127.0.0.1',
    port: flags.port ?? intFrom(env.KEYHOLD_PORT, 'KEYHOLD_PORT') ?? DEFAULT_PORT,
    dataDir: resolve(flags.dataDir ?? env.KEYHOLD_DATA_DIR ?? './.keyhold'),
    region,
    regions: Object.freeze([...new Set([region, ...extra])]),
    accountId: flags.accountId ?? env.KEYHOLD_ACCOUNT_ID ?? '111122223333',
    bootstrapAccessKeyId: env.KEYHOLD_ACCESS_KEY_ID === '' ? undefined : env.KEYHOLD_ACCESS_KEY_ID,
    bootstrapSecretAccessKey: secretFrom(env, 'KEYHOLD_SECRET_ACCESS_KEY'),
    rootPassphrase: secretFrom(env, 'KEYHOLD_ROOT_PASSPHRASE'),
    domainKeyRotationHours:
      intFrom(env.KEYHOLD_DOMAIN_KEY_ROTATION_HOURS, 'KEYHOLD_DOMAIN_KEY_ROTATION_HOURS') ?? 24,
    maxSkewSeconds: 300,
    logLevel: flags.logLevel ?? env.KEYHOLD_LOG_LEVEL ?? 'info',
    auditMaxBatch: 512,
    auditReset: flags.auditReset ?? onOff(env.KEYHOLD_AUDIT_RESET, 'KEYHOLD_AUDIT_RESET') ?? false,
    seedFile: optionalPath(flags.seedFile ?? env.KEYHOLD_SEED_FILE),
    quotas: onOff(env.KEYHOLD_QUOTAS, 'KEYHOLD_QUOTAS') ?? true,
    quotaScale: numberFrom(env.KEYHOLD_QUOTA_SCALE, 'KEYHOLD_QUOTA_SCALE') ?? 1,
    quotaRps: quotaRpsFrom(env.KEYHOLD_QUOTA_RPS),
    cloudHsmClusters: parseCloudHsmClusters(env.KEYHOLD_CLOUDHSM_CLUSTERS, fail),
    customKeyStoreTransitionDelayMs:
      intFrom(
        env.KEYHOLD_CUSTOM_KEY_STORE_TRANSITION_DELAY_MS,
        'KEYHOLD_CUSTOM_KEY_STORE_TRANSITION_DELAY_MS',
      ) ?? 0,
    gcmInvocationLimit:
      intFrom(env.KEYHOLD_GCM_INVOCATION_LIMIT, 'KEYHOLD_GCM_INVOCATION_LIMIT') ?? 2 ** 30,
    metrics: onOff(env.KEYHOLD_METRICS, 'KEYHOLD_METRICS') ?? true,
    replicaCreationMs:
      intFrom(env.KEYHOLD_REPLICA_CREATION_MS, 'KEYHOLD_REPLICA_CREATION_MS') ??
      DEFAULT_REPLICA_CREATION_MS,
    metricsHost: env.KEYHOLD_METRICS_HOST ?? '127.0.0.1',
    metricsPort: 0,
    http: httpLimits(env),
    storageUrl: flags.storageUrl ?? secretFrom(env, 'KEYHOLD_STORAGE_URL'),
    nodeId: env.KEYHOLD_NODE_ID === '' ? undefined : env.KEYHOLD_NODE_ID,
    xks: xksConfig(env),
    workers:
      flags.workers ??
      intFrom(env.KEYHOLD_WORKERS, 'KEYHOLD_WORKERS') ??
      Math.min(availableParallelism(), MAX_WORKERS),
    workerId: flags.workerId,
  };
  // An ephemeral API port (tests, several nodes on one host) gets an ephemeral metrics port.
  cfg.metricsPort =
    intFrom(env.KEYHOLD_METRICS_PORT, 'KEYHOLD_METRICS_PORT') ??
    (cfg.port === 0 ? 0 : DEFAULT_METRICS_PORT);
  validate(cfg);
  return Object.freeze(cfg);
}

function httpLimits(env: NodeJS.ProcessEnv): HttpLimits {
  const limits: HttpLimits = {
    maxConnections: intFrom(env.KEYHOLD_MAX_CONNECTIONS, 'KEYHOLD_MAX_CONNECTIONS') ?? 1024,
    idleTimeoutMs: intFrom(env.KEYHOLD_IDLE_TIMEOUT_MS, 'KEYHOLD_IDLE_TIMEOUT_MS') ?? 10_000,
    headersTimeoutMs:
      intFrom(env.KEYHOLD_HEADERS_TIMEOUT_MS, 'KEYHOLD_HEADERS_TIMEOUT_MS') ?? 10_000,
    requestTimeoutMs:
      intFrom(env.KEYHOLD_REQUEST_TIMEOUT_MS, 'KEYHOLD_REQUEST_TIMEOUT_MS') ?? 30_000,
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

function xksConfig(env: NodeJS.ProcessEnv): XksConfig {
  const caFile = optionalPath(env.KEYHOLD_XKS_CLIENT_CA_FILE);
  const extraCa =
    caFile === undefined
      ? []
      : (readFileSync(caFile, 'utf8').match(
          /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
        ) ?? fail(`KEYHOLD_XKS_CLIENT_CA_FILE ${caFile} holds no PEM certificate`));
  const connectTo = new Map<string, { host: string; port: number }>();
  for (const item of (env.KEYHOLD_XKS_CLIENT_CONNECT_TO ?? '').split(',')) {
    if (item.trim() === '') continue;
    const m = /^([A-Za-z0-9.-]+)=([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(item.trim());
    if (m === null) fail(`KEYHOLD_XKS_CLIENT_CONNECT_TO item '${item}' is not host=address:port`);
    connectTo.set((m[1] as string).toLowerCase(), {
      host: (m[2] as string).replace(/^\[|\]$/g, ''),
      port: Number(m[3]),
    });
  }
  const timeoutMs =
    intFrom(env.KEYHOLD_XKS_CLIENT_TIMEOUT_MS, 'KEYHOLD_XKS_CLIENT_TIMEOUT_MS') ?? 250;
  if (timeoutMs < 1) fail('KEYHOLD_XKS_CLIENT_TIMEOUT_MS must be positive');
  const health =
    numberFrom(
      env.KEYHOLD_XKS_CLIENT_HEALTH_CHECK_SECONDS,
      'KEYHOLD_XKS_CLIENT_HEALTH_CHECK_SECONDS',
    ) ?? 60;
  if (health < 0) fail('KEYHOLD_XKS_CLIENT_HEALTH_CHECK_SECONDS must not be negative');
  return Object.freeze({
    timeoutMs,
    extraCa: Object.freeze(extraCa),
    connectTo,
    healthCheckIntervalMs: Math.round(health * 1000),
  });
}

function numberFrom(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) fail(`${name} must be a number`);
  return n;
}

/** `Operation=rps,...`; each operation must have a quota and a positive rate. */
function quotaRpsFrom(v: string | undefined): Readonly<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const item of (v ?? '').split(',').map((x) => x.trim())) {
    if (item === '') continue;
    const m = /^([A-Za-z]+)=(.+)$/.exec(item);
    const rps = Number(m?.[2]);
    if (m === null || !(rps > 0) || !Number.isFinite(rps))
      fail(`KEYHOLD_QUOTA_RPS: '${item}' is not Operation=requests-per-second`);
    const op = m[1] as string;
    if (!Object.hasOwn(OPERATION_QUOTAS, op))
      fail(`KEYHOLD_QUOTA_RPS: ${op} is not a KMS operation with a request quota`);
    out[op] = rps;
  }
  return Object.freeze(out);
}

function onOff(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  const s = v.toLowerCase();
  if (s === 'on' || s === 'true' || s === '1') return true;
  if (s === 'off' || s === 'false' || s === '0') return false;
  return fail(`${name} must be 'on' or 'off'`);
}

function intFrom(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) fail(`${name} must be an integer`);
  return n;
}

function optionalPath(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : resolve(v);
}

/** NAME holds the value; NAME_FILE names a file holding it. */
function secretFrom(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file !== undefined && file !== '') return readFileSync(file, 'utf8').trim();
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function fail(message: string): never {
  throw new ConfigError(message);
}
