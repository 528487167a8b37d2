/**
 * Every setting of `keyhold serve`, as one table: its environment variable, its flag (if
 * any), its default, the parser of its value, whether it is a secret, and one line saying
 * what it does. loadConfig (config.ts) resolves each entry (flag > environment > default),
 * `keyhold serve --help` lists them (cli/main.ts), and scripts/gen-settings-doc.mjs writes
 * the README's settings table from them (settings-doc.ts); a unit test keeps the three in
 * step. Secrets accept `<NAME>_FILE` (a file holding the value) and their values are never
 * printed: help and docs show only names and defaults.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { OPERATION_QUOTAS } from '../quota/quotas.js';
import { parseCloudHsmClusters, type CloudHsmClusterConfig } from './cloudhsm-clusters.js';
import { fail } from './config-error.js';

/** How a setting's text becomes its value; `name` is what docs and --help call the format. */
export interface Parser<T> {
  readonly name: string;
  /** `raw` is the environment's text ('' included); undefined = unset (the default applies). */
  parse(raw: string, name: string): T | undefined;
  /** Secrets only: the trimmed content of `<NAME>_FILE`, taken as it is. */
  fromFile?(content: string): T;
}

export interface Flag<T> {
  /** Long name without dashes (`data-dir`); commander's option attribute is its camelCase. */
  readonly long: string;
  readonly short?: string;
  /** `<port>`; absent for a boolean switch. */
  readonly arg?: string;
  /** The flag's text → value (throws ConfigError; the CLI reports it as commander's error). */
  parse?(text: string): T;
  /** Applied to a value given as a flag (or an override in code), e.g. resolving a path. */
  normalize?(value: T): T;
}

export interface Setting<T> {
  readonly env: string;
  readonly flag?: Flag<T>;
  readonly parser: Parser<T>;
  /** The value when neither the flag nor the environment gives one (evaluated per load). */
  default(): T;
  /** The default as docs and --help show it (markdown: `code` in backticks). */
  readonly defaultText: string;
  /** The value's format when the parser's name does not say enough (markdown). */
  readonly valueText?: string;
  /** `<NAME>_FILE` is read instead when set, and the value is never printed. */
  readonly secret: boolean;
  /** Short name (the README's first column). */
  readonly label: string;
  /** One line: what the setting does (--help). */
  readonly description: string;
}

function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

// ---------------------------------------------------------------- parsers

/** The text as given, '' included. */
export const text: Parser<string> = { name: 'text', parse: (raw) => raw };

/** The text; '' = unset. */
export const optionalText: Parser<string | undefined> = {
  name: 'text',
  parse: (raw) => (raw === '' ? undefined : raw),
};

/** A secret's text; '' = unset, but the content of a `_FILE` is taken as it is. */
export const secretText: Parser<string | undefined> = {
  name: 'secret',
  parse: (raw) => (raw === '' ? undefined : raw),
  fromFile: (content) => content,
};

export const integer: Parser<number> = {
  name: 'integer',
  parse(raw, name) {
    if (raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n)) fail(`${name} must be an integer`);
    return n;
  },
};

export const decimal: Parser<number> = {
  name: 'number',
  parse(raw, name) {
    if (raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) fail(`${name} must be a number`);
    return n;
  },
};

export const onOff: Parser<boolean> = {
  name: '`on`/`off`',
  parse(raw, name) {
    if (raw === '') return undefined;
    const s = raw.toLowerCase();
    if (s === 'on' || s === 'true' || s === '1') return true;
    if (s === 'off' || s === 'false' || s === '0') return false;
    return fail(`${name} must be 'on' or 'off'`);
  },
};

/** A path resolved against the working directory; '' = unset. */
export const optionalPath: Parser<string | undefined> = {
  name: 'path',
  parse: (raw) => (raw === '' ? undefined : resolve(raw)),
};

/** A directory resolved against the working directory ('' = the working directory). */
export const directory: Parser<string> = { name: 'path', parse: (raw) => resolve(raw) };

export const commaList: Parser<readonly string[]> = {
  name: 'comma-separated list',
  parse: (raw) =>
    raw
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== ''),
};

/** `Operation=rps,...`; each operation must have a quota and a positive rate. */
export const quotaRps: Parser<Readonly<Record<string, number>>> = {
  name: '`Op=rate,…`',
  parse(raw) {
    const out: Record<string, number> = {};
    for (const item of raw.split(',').map((x) => x.trim())) {
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
  },
};

export const cloudHsmClusters: Parser<Readonly<Record<string, CloudHsmClusterConfig>>> = {
  name: 'JSON',
  parse: (raw) => parseCloudHsmClusters(raw, fail),
};

export type ConnectTo = ReadonlyMap<string, { host: string; port: number }>;

/** `host=address:port,...` (address may be `[v6]`). */
export const connectTo: Parser<ConnectTo> = {
  name: '`host=address:port,…`',
  parse(raw) {
    const out = new Map<string, { host: string; port: number }>();
    for (const item of raw.split(',')) {
      if (item.trim() === '') continue;
      const m = /^([A-Za-z0-9.-]+)=([^\s:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(item.trim());
      if (m === null) fail(`KEYHOLD_XKS_CLIENT_CONNECT_TO item '${item}' is not host=address:port`);
      out.set((m[1] as string).toLowerCase(), {
        host: (m[2] as string).replace(/^\[|\]$/g, ''),
        port: Number(m[3]),
      });
    }
    return out;
  },
};

// ---------------------------------------------------------------- the table

/** Most workers one node starts (each holds its own caches, audit writer and database handles). */
export const MAX_WORKERS = 64;
/** Default of KEYHOLD_REPLICA_CREATION_MS (AWS takes seconds; tests and Terraform wait less). */
export const DEFAULT_REPLICA_CREATION_MS = 250;
export const DEFAULT_PORT = 8420;
export const DEFAULT_METRICS_PORT = 9420;

function flagPort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail('not a TCP port');
  return n;
}

function flagWorkers(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
    fail(`not a number of workers (1-${MAX_WORKERS})`);
  return n;
}

const resolvePath = (v: string) => resolve(v);
const resolveOptionalPath = (v: string | undefined) =>
  v === undefined || v === '' ? undefined : resolve(v);

/** In the README's order. Keys are the names loadConfig and ConfigOverrides use. */
export const KEYHOLD_SETTINGS = {
  port: setting({
    env: 'KEYHOLD_PORT',
    flag: { long: 'port', short: 'p', arg: '<port>', parse: flagPort },
    parser: integer,
    default: () => DEFAULT_PORT,
    defaultText: `\`${DEFAULT_PORT}\``,
    secret: false,
    label: 'port',
    description: 'TCP port of the API',
  }),
  dataDir: setting({
    env: 'KEYHOLD_DATA_DIR',
    flag: { long: 'data-dir', short: 'd', arg: '<dir>', normalize: resolvePath },
    parser: directory,
    default: () => resolve('./.keyhold'),
    defaultText: '`./.keyhold`',
    secret: false,
    label: 'data directory',
    description: 'data directory (SQLite files, root key, node id)',
  }),
  host: setting({
    env: 'KEYHOLD_HOST',
    flag: { long: 'host', arg: '<host>' },
    parser: text,
    default: () => '127.0.0.1',
    defaultText: '`127.0.0.1`',
    secret: false,
    label: 'listen address',
    description: 'address to listen on',
  }),
  region: setting({
    env: 'KEYHOLD_REGION',
    flag: { long: 'region', arg: '<region>' },
    parser: text,
    default: () => 'us-east-1',
    defaultText: '`us-east-1`',
    secret: false,
    label: 'Region',
    description: 'the Region answered by default',
  }),
  regions: setting({
    env: 'KEYHOLD_REGIONS',
    parser: commaList,
    default: () => [],
    defaultText: 'none',
    secret: false,
    label: 'more Regions served',
    description: 'more Regions served besides the Region (multi-Region keys, replicas)',
  }),
  replicaCreationMs: setting({
    env: 'KEYHOLD_REPLICA_CREATION_MS',
    parser: integer,
    default: () => DEFAULT_REPLICA_CREATION_MS,
    defaultText: `\`${DEFAULT_REPLICA_CREATION_MS}\``,
    valueText: 'ms',
    secret: false,
    label: 'replica creation time',
    description: "how long a ReplicateKey replica stays in the 'Creating' state",
  }),
  accountId: setting({
    env: 'KEYHOLD_ACCOUNT_ID',
    flag: { long: 'account-id', arg: '<id>' },
    parser: text,
    default: () => '111122223333',
    defaultText: '`111122223333`',
    valueText: '12 digits',
    secret: false,
    label: 'account id',
    description: 'the AWS account id of the node',
  }),
  seedFile: setting({
    env: 'KEYHOLD_SEED_FILE',
    flag: { long: 'seed', arg: '<file>', normalize: resolveOptionalPath },
    parser: optionalPath,
    default: () => undefined,
    defaultText: 'none',
    secret: false,
    label: 'identities seed file',
    description: 'identities seed file applied at every start (docs/identities.md)',
  }),
  bootstrapAccessKeyId: setting({
    env: 'KEYHOLD_ACCESS_KEY_ID',
    parser: optionalText,
    default: () => undefined,
    defaultText: 'generated on first start',
    valueText: '16-128 of `A-Z 0-9`',
    secret: false,
    label: 'administrator access key id',
    description: "the account root's access key id, with KEYHOLD_SECRET_ACCESS_KEY",
  }),
  bootstrapSecretAccessKey: setting({
    env: 'KEYHOLD_SECRET_ACCESS_KEY',
    parser: secretText,
    default: () => undefined,
    defaultText: 'generated on first start',
    secret: true,
    label: 'administrator secret key',
    description: "the account root's secret access key, with KEYHOLD_ACCESS_KEY_ID",
  }),
  rootPassphrase: setting({
    env: 'KEYHOLD_ROOT_PASSPHRASE',
    parser: secretText,
    default: () => undefined,
    defaultText: 'a generated dev key file',
    valueText: '16+ characters',
    secret: true,
    label: 'root key passphrase',
    description: 'passphrase the root key is derived from (production: set it)',
  }),
  domainKeyRotationHours: setting({
    env: 'KEYHOLD_DOMAIN_KEY_ROTATION_HOURS',
    parser: integer,
    default: () => 24,
    defaultText: '`24`',
    valueText: 'hours',
    secret: false,
    label: 'domain key rotation',
    description: 'age at which the domain key is rotated',
  }),
  quotas: setting({
    env: 'KEYHOLD_QUOTAS',
    parser: onOff,
    default: () => true,
    defaultText: "`on` (AWS's rates)",
    secret: false,
    label: 'request quotas',
    description: "AWS's per-second request quotas (ThrottlingException); off for development",
  }),
  quotaScale: setting({
    env: 'KEYHOLD_QUOTA_SCALE',
    parser: decimal,
    default: () => 1,
    defaultText: '`1`',
    valueText: 'number > 0',
    secret: false,
    label: 'request quota scale',
    description: 'multiplies every request quota',
  }),
  quotaRps: setting({
    env: 'KEYHOLD_QUOTA_RPS',
    parser: quotaRps,
    default: () => Object.freeze({}),
    defaultText: "AWS's rate",
    valueText: '`Op=rate,…`, e.g. `CreateKey=50`',
    secret: false,
    label: "one operation's quota",
    description: 'per-operation rates replacing the defaults',
  }),
  logLevel: setting({
    env: 'KEYHOLD_LOG_LEVEL',
    flag: { long: 'log-level', arg: '<level>' },
    parser: text,
    default: () => 'info',
    defaultText: '`info`',
    secret: false,
    label: 'log level',
    description: 'log level (pino: trace, debug, info, warn, error)',
  }),
  workers: setting({
    env: 'KEYHOLD_WORKERS',
    flag: { long: 'workers', arg: '<n>', parse: flagWorkers },
    parser: integer,
    default: () => Math.min(availableParallelism(), MAX_WORKERS),
    defaultText: 'the number of cores',
    valueText: `1-${MAX_WORKERS} (1 = one process)`,
    secret: false,
    label: 'worker processes',
    description: 'processes serving the port',
  }),
  storageUrl: setting({
    env: 'KEYHOLD_STORAGE_URL',
    flag: { long: 'storage', arg: '<url>' },
    parser: secretText,
    default: () => undefined,
    defaultText: 'SQLite in the data dir',
    valueText: '`postgres://…`',
    secret: true,
    label: 'storage',
    description: 'PostgreSQL URL to share keys among several nodes',
  }),
  nodeId: setting({
    env: 'KEYHOLD_NODE_ID',
    parser: optionalText,
    default: () => undefined,
    defaultText: 'generated into the data dir',
    valueText: '1-64 of `A-Z a-z 0-9 . _ : -`',
    secret: false,
    label: 'node id',
    description: "this node's id: its audit chain and job-lease owner (docs/storage.md)",
  }),
  cloudHsmClusters: setting({
    env: 'KEYHOLD_CLOUDHSM_CLUSTERS',
    parser: cloudHsmClusters,
    default: () => Object.freeze({}),
    defaultText: 'none',
    valueText: 'JSON: PKCS#11 module + token labels',
    secret: false,
    label: 'CloudHSM-type clusters',
    description: 'PKCS#11 clusters for CloudHSM-type custom key stores',
  }),
  gcmInvocationLimit: setting({
    env: 'KEYHOLD_GCM_INVOCATION_LIMIT',
    parser: integer,
    default: () => 2 ** 30,
    defaultText: '`2^30`',
    valueText: 'encryptions per key, ≤ 2^32',
    secret: false,
    label: 'CloudHSM GCM limit',
    description: 'AES-GCM encryptions allowed per CloudHSM-type token key',
  }),
  customKeyStoreTransitionDelayMs: setting({
    env: 'KEYHOLD_CUSTOM_KEY_STORE_TRANSITION_DELAY_MS',
    parser: integer,
    default: () => 0,
    defaultText: '`0`',
    valueText: 'ms',
    secret: false,
    label: 'key store transition delay',
    description: 'extra delay of custom key store connect/disconnect (tests, demos)',
  }),
  metrics: setting({
    env: 'KEYHOLD_METRICS',
    parser: onOff,
    default: () => true,
    defaultText: '`on` (`GET /metrics`)',
    secret: false,
    label: 'Prometheus metrics',
    description: 'serve Prometheus metrics on the metrics listener',
  }),
  auditReset: setting({
    env: 'KEYHOLD_AUDIT_RESET',
    flag: { long: 'audit-reset' },
    parser: onOff,
    default: () => false,
    defaultText: '`off`: refuse to start',
    secret: false,
    label: 'audit log reset',
    description:
      'start even though the audit log is missing, behind or replaced, recording a log reset',
  }),
  metricsHost: setting({
    env: 'KEYHOLD_METRICS_HOST',
    parser: text,
    default: () => '127.0.0.1',
    defaultText: '`127.0.0.1`',
    secret: false,
    label: 'metrics listen address',
    description: 'address of the metrics listener (its labels are not for anonymous callers)',
  }),
  metricsPort: setting<number | undefined>({
    env: 'KEYHOLD_METRICS_PORT',
    parser: integer,
    // Resolved by loadConfig: an ephemeral API port gets an ephemeral metrics port.
    default: () => undefined,
    defaultText: `\`${DEFAULT_METRICS_PORT}\` (¹)`,
    secret: false,
    label: 'metrics port',
    description: `port of the metrics listener (default ${DEFAULT_METRICS_PORT}; 0 with --port 0)`,
  }),
  maxConnections: setting({
    env: 'KEYHOLD_MAX_CONNECTIONS',
    parser: integer,
    default: () => 1024,
    defaultText: '`1024`',
    secret: false,
    label: 'open connections, max',
    description: 'open connections accepted at once; more get 503 and are closed',
  }),
  idleTimeoutMs: setting({
    env: 'KEYHOLD_IDLE_TIMEOUT_MS',
    parser: integer,
    default: () => 10_000,
    defaultText: '`10000`',
    valueText: 'ms (no byte before the first request)',
    secret: false,
    label: 'idle socket timeout',
    description: 'a socket silent this long before its first request is closed',
  }),
  headersTimeoutMs: setting({
    env: 'KEYHOLD_HEADERS_TIMEOUT_MS',
    parser: integer,
    default: () => 10_000,
    defaultText: '`10000`',
    valueText: 'ms',
    secret: false,
    label: 'headers timeout',
    description: 'complete request headers must arrive within this (408)',
  }),
  requestTimeoutMs: setting({
    env: 'KEYHOLD_REQUEST_TIMEOUT_MS',
    parser: integer,
    default: () => 30_000,
    defaultText: '`30000`',
    valueText: 'ms (headers and body)',
    secret: false,
    label: 'request timeout',
    description: 'the whole request, headers and body, within this (408)',
  }),
  xksClientTimeoutMs: setting({
    env: 'KEYHOLD_XKS_CLIENT_TIMEOUT_MS',
    parser: integer,
    default: () => 250,
    defaultText: '`250`',
    valueText: 'ms',
    secret: false,
    label: 'XKS proxy deadline',
    description: 'per-request deadline to an external key store proxy (AWS: 250 ms)',
  }),
  xksClientCaFile: setting({
    env: 'KEYHOLD_XKS_CLIENT_CA_FILE',
    parser: optionalPath,
    default: () => undefined,
    defaultText: 'the system roots',
    valueText: 'PEM bundle',
    secret: false,
    label: 'XKS proxy CAs',
    description: 'CA certificates trusted for XKS proxies besides the system roots',
  }),
  xksClientConnectTo: setting({
    env: 'KEYHOLD_XKS_CLIENT_CONNECT_TO',
    parser: connectTo,
    default: (): ConnectTo => new Map(),
    defaultText: 'none',
    secret: false,
    label: 'XKS proxy addresses',
    description: 'dial address:port instead of host:443 for these XKS proxy hosts',
  }),
  xksClientHealthCheckSeconds: setting({
    env: 'KEYHOLD_XKS_CLIENT_HEALTH_CHECK_SECONDS',
    parser: decimal,
    default: () => 60,
    defaultText: '`60`',
    valueText: 'seconds (0 = off)',
    secret: false,
    label: 'XKS health checks',
    description: 'GetHealthStatus interval of connected external key stores',
  }),
} as const;

export type SettingKey = keyof typeof KEYHOLD_SETTINGS;
export type SettingValues = {
  -readonly [K in SettingKey]: (typeof KEYHOLD_SETTINGS)[K] extends Setting<infer T> ? T : never;
};

/** A setting's value from the environment: `<NAME>_FILE` first for a secret, then NAME. */
export function fromEnv<T>(s: Setting<T>, env: NodeJS.ProcessEnv): T | undefined {
  if (s.secret && s.parser.fromFile !== undefined) {
    const file = env[`${s.env}_FILE`];
    if (file !== undefined && file !== '')
      return s.parser.fromFile(readFileSync(file, 'utf8').trim());
  }
  const raw = env[s.env];
  return raw === undefined ? undefined : s.parser.parse(raw, s.env);
}

/** Every setting resolved: the flag (or override) beats the environment, which beats the default. */
export function resolveSettings(
  flags: Partial<Record<SettingKey, unknown>>,
  env: NodeJS.ProcessEnv,
): SettingValues {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(KEYHOLD_SETTINGS) as Array<
    [SettingKey, Setting<unknown>]
  >) {
    const flag = flags[key];
    if (flag !== undefined) out[key] = s.flag?.normalize ? s.flag.normalize(flag) : flag;
    else out[key] = fromEnv(s, env) ?? s.default();
  }
  return out as SettingValues;
}

/** The environment variables a setting reads (a secret's `_FILE` too). */
export function envNames(s: Setting<unknown>): string[] {
  return s.secret ? [s.env, `${s.env}_FILE`] : [s.env];
}
