/**
 * The proxy's configuration: a JSON file (`--config`) overlaid by KEYHOLD_XKS_* environment
 * variables, validated into one frozen object. Every setting is an entry of the table in
 * settings.ts (file field, environment variable, default, parser, secret or not). Secrets (credential secrets, the key-file
 * passphrase, the token PIN) come inline, from a file (`...File`) or from an environment
 * variable (`...Env`); they are never printed. See docs/xks-proxy.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fail } from '../config/config-error.js';
import { DEFAULT_GCM_INVOCATION_LIMIT } from '../hsm/gcm-budget.js';
import type { AuthorizationPolicy } from './authorization.js';
import { parseAuthorization } from './authorization.js';
import { XKS_SETTINGS, str, xksSetting, type XksSetting } from './settings.js';

export interface XksCredential {
  /** KMS's rule: 20–30 characters of A-Z and 2-7. */
  accessKeyId: string;
  /** KMS's rule: 43–64 characters of A-Z a-z 0-9 + / =. */
  secretAccessKey: string;
  /** When the credential was issued, for the credential-age metric (default: load time). */
  createdAt?: Date;
}

/**
 * `invocationCounterFile`: where the AES-GCM invocation counters of the backend's keys are
 * kept (see invocationCounterPath for the default).
 */
export type BackendConfig =
  | { type: 'software'; keyFile: string; passphrase: string; invocationCounterFile?: string }
  | {
      type: 'pkcs11';
      invocationCounterFile?: string;
      module: string;
      tokenLabel: string;
      pin: string;
      /** PKCS#11 has no key state: external key ids listed here report DISABLED. */
      disabledKeys?: string[];
      maxSessions?: number;
    };

export interface XksProxyConfig {
  host: string;
  port: number;
  /** '' or '/seg/seg' (no trailing slash); the API lives at `{uriPrefix}/kms/xks/v1`. */
  uriPrefix: string;
  tls: { cert: string; key: string };
  /** Optional mutual TLS: client certificates must chain to `ca` and have an allowed subject CN. */
  mtls?: { ca: string; allowedSubjects: string[] };
  credentials: XksCredential[];
  /** SigV4 scope regions accepted; empty = any. */
  regions: string[];
  maxSkewSeconds: number;
  backend: BackendConfig;
  health: { fleetSize: number; vendor: string; model: string; ekmVendor?: string };
  authorization?: AuthorizationPolicy;
  /** Plain-HTTP Prometheus endpoint (separate from the TLS API port); off when absent. */
  metrics?: { host: string; port: number };
  limits: {
    maxBodyBytes: number;
    maxPlaintextBytes: number;
    maxAadBytes: number;
    /** A backend call slower than this → DependencyTimeoutException (503). */
    backendTimeoutMs: number;
    /** Requests per second over all API paths (token bucket, burst = rate); 0 = no limit. */
    maxRequestsPerSecond: number;
    /**
     * Encryptions per external key (random 96-bit IVs, NIST SP 800-38D bound 2^32); past it
     * Encrypt answers InvalidStateException and Decrypt keeps working. Optional in configs
     * built in code; default DEFAULT_GCM_INVOCATION_LIMIT (2^30).
     */
    gcmInvocationsPerKey?: number;
  };
}

const S = XKS_SETTINGS;

/** The table's default of a setting that has one. */
function defaultOf<T>(x: XksSetting<T>): T {
  if (x.default === undefined) throw new Error('internal: a setting without a default');
  return x.default;
}

/** The defaults of settings.ts, in the shape of XksProxyConfig (tests build configs from them). */
export const XKS_DEFAULTS = Object.freeze({
  host: defaultOf(S.host),
  port: defaultOf(S.port),
  maxSkewSeconds: defaultOf(S.maxClockSkewSeconds),
  limits: Object.freeze({
    maxBodyBytes: defaultOf(S.maxBodyBytes),
    maxPlaintextBytes: defaultOf(S.maxPlaintextBytes),
    maxAadBytes: defaultOf(S.maxAadBytes),
    backendTimeoutMs: defaultOf(S.backendTimeoutMs),
    maxRequestsPerSecond: defaultOf(S.maxRequestsPerSecond),
  }),
});

export const ACCESS_KEY_ID_RE = /^[A-Z2-7]{20,30}$/;
export const SECRET_RE = /^[A-Za-z0-9/+=]{43,64}$/;

type Json = Record<string, unknown>;

/** Load `file` (optional) and the KEYHOLD_XKS_* environment. */
export function loadXksProxyConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Readonly<XksProxyConfig> {
  let raw: Json = {};
  let base = process.cwd();
  if (file !== undefined) {
    base = dirname(resolve(file));
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Json;
    } catch (err) {
      fail(`cannot read xks-proxy config ${file}: ${(err as Error).message}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      fail(`${file}: not a JSON object`);
  }
  const path = (p: string) => resolve(base, p);
  // Each section must be an object when present (the settings below read into them).
  obj(raw.tls, 'tls');
  if (raw.mtls !== undefined) obj(raw.mtls, 'mtls');
  const backend = obj(raw.backend, 'backend');
  const health = obj(raw.health, 'health');
  if (raw.metrics !== undefined && raw.metrics !== null) obj(raw.metrics, 'metrics');
  obj(raw.limits, 'limits');
  const get = <T>(x: XksSetting<T>) => xksSetting(x, raw, env);

  const certFile = get(S.tlsCert);
  const keyFile = get(S.tlsKey);
  if (certFile === undefined || keyFile === undefined) {
    fail('TLS is required: set tls.certFile and tls.keyFile (or KEYHOLD_XKS_TLS_CERT / _KEY)');
  }
  const mtlsCa = get(S.mtlsCa);
  const subjects = get(S.mtlsSubjects);

  const metricsPort = get(S.metricsPort);
  const cfg: XksProxyConfig = {
    host: get(S.host) ?? XKS_DEFAULTS.host,
    port: get(S.port) ?? XKS_DEFAULTS.port,
    uriPrefix: normalizePrefix(get(S.uriPrefix) ?? ''),
    tls: {
      cert: readText(path(certFile), 'TLS certificate'),
      key: readText(path(keyFile), 'TLS key'),
    },
    ...(mtlsCa !== undefined
      ? { mtls: { ca: readText(path(mtlsCa), 'mTLS CA'), allowedSubjects: subjects ?? [] } }
      : {}),
    credentials: loadCredentials(raw.credentials, env, path),
    regions: get(S.regions) ?? [],
    maxSkewSeconds: get(S.maxClockSkewSeconds) ?? XKS_DEFAULTS.maxSkewSeconds,
    backend: loadBackend(backend, raw, env, path),
    health: {
      fleetSize: get(S.fleetSize) ?? 1,
      vendor: get(S.vendor) ?? 'keyhold',
      model: get(S.model) ?? 'keyhold xks-proxy 0.1',
      ...(health.ekmVendor !== undefined ? { ekmVendor: get(S.ekmVendor) as string } : {}),
    },
    ...(raw.authorization !== undefined
      ? { authorization: parseAuthorization(raw.authorization) }
      : {}),
    ...(metricsPort !== undefined
      ? { metrics: { host: get(S.metricsHost) ?? '127.0.0.1', port: metricsPort } }
      : {}),
    limits: {
      maxBodyBytes: get(S.maxBodyBytes) ?? XKS_DEFAULTS.limits.maxBodyBytes,
      maxPlaintextBytes: get(S.maxPlaintextBytes) ?? XKS_DEFAULTS.limits.maxPlaintextBytes,
      maxAadBytes: get(S.maxAadBytes) ?? XKS_DEFAULTS.limits.maxAadBytes,
      backendTimeoutMs: get(S.backendTimeoutMs) ?? XKS_DEFAULTS.limits.backendTimeoutMs,
      maxRequestsPerSecond: get(S.maxRequestsPerSecond) ?? XKS_DEFAULTS.limits.maxRequestsPerSecond,
      gcmInvocationsPerKey: get(S.gcmInvocationsPerKey) ?? DEFAULT_GCM_INVOCATION_LIMIT,
    },
  };
  validateXksProxyConfig(cfg);
  return Object.freeze(cfg);
}

/** Checks shared by the file loader and in-process starts (tests). */
export function validateXksProxyConfig(cfg: XksProxyConfig): void {
  if (!Number.isInteger(cfg.port) || cfg.port < 0 || cfg.port > 65535)
    fail(`port ${cfg.port} is not a TCP port`);
  if (cfg.uriPrefix !== '' && !/^(\/[A-Za-z0-9_-]+)+$/.test(cfg.uriPrefix)) {
    fail(`uriPrefix '${cfg.uriPrefix}' may contain only A-Z a-z 0-9 / - _ (XksProxyUriPath rule)`);
  }
  if ((cfg.uriPrefix + '/kms/xks/v1').length > 128)
    fail('uriPrefix + /kms/xks/v1 must be at most 128 characters');
  if (cfg.credentials.length === 0)
    fail('at least one credential is required (credentials or KEYHOLD_XKS_CREDENTIALS)');
  const seen = new Set<string>();
  for (const c of cfg.credentials) {
    if (!ACCESS_KEY_ID_RE.test(c.accessKeyId)) {
      fail(
        `credential access key id '${c.accessKeyId}' must be 20-30 characters of A-Z and 2-7 (KMS rule)`,
      );
    }
    if (!SECRET_RE.test(c.secretAccessKey)) {
      fail(
        `the secret of credential ${c.accessKeyId} must be 43-64 characters of A-Z a-z 0-9 + / = (KMS rule)`,
      );
    }
    if (seen.has(c.accessKeyId)) fail(`credential ${c.accessKeyId} is listed twice`);
    seen.add(c.accessKeyId);
  }
  if (cfg.mtls !== undefined && cfg.mtls.allowedSubjects.length === 0) {
    fail(
      'mtls.allowedSubjects must name at least one client certificate subject CN (e.g. cks.kms.us-east-1.amazonaws.com)',
    );
  }
  if (!Number.isInteger(cfg.health.fleetSize) || cfg.health.fleetSize < 1)
    fail('health.fleetSize must be a positive integer');
  if (cfg.limits.maxAadBytes > 65535) fail('limits.maxAadBytes cannot exceed 65535');
  if (!(cfg.limits.backendTimeoutMs > 0)) fail('limits.backendTimeoutMs must be positive');
  if (!(cfg.limits.maxRequestsPerSecond >= 0))
    fail('limits.maxRequestsPerSecond must be 0 (off) or more');
  const gcm = cfg.limits.gcmInvocationsPerKey;
  if (gcm !== undefined && (!Number.isInteger(gcm) || gcm < 1 || gcm > 2 ** 32))
    fail('limits.gcmInvocationsPerKey must be from 1 to 4294967296 (2^32)');
  if (cfg.limits.maxPlaintextBytes < 4300 || cfg.limits.maxAadBytes < 8192) {
    fail('limits below the spec minimums (plaintext 4300 bytes, AAD 8192 bytes)');
  }
}

export function normalizePrefix(p: string): string {
  const t = p.trim().replace(/\/+$/, '');
  if (t === '') return '';
  return t.startsWith('/') ? t : `/${t}`;
}

function loadCredentials(
  v: unknown,
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
): XksCredential[] {
  const out: XksCredential[] = [];
  const name = S.credentials.env ?? 'KEYHOLD_XKS_CREDENTIALS';
  const file = env[`${name}_FILE`];
  const fromEnv = file ? readText(file, 'credentials file').trim() : env[name];
  if (fromEnv) {
    // "AKID:SECRET,AKID:SECRET" — neither part can contain ':' or ','.
    for (const pair of fromEnv
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter(Boolean)) {
      const i = pair.indexOf(':');
      if (i < 0)
        fail('KEYHOLD_XKS_CREDENTIALS must be ACCESS_KEY_ID:SECRET pairs separated by commas');
      out.push({ accessKeyId: pair.slice(0, i), secretAccessKey: pair.slice(i + 1) });
    }
  }
  if (v === undefined) return out;
  if (!Array.isArray(v)) fail('credentials must be an array');
  for (const [i, c] of v.entries()) {
    const o = obj(c, `credentials[${i}]`);
    const accessKeyId = str(o.accessKeyId, `credentials[${i}].accessKeyId`);
    if (accessKeyId === undefined) fail(`credentials[${i}].accessKeyId is required`);
    const secretAccessKey = secret(o, 'secretAccessKey', `credentials[${i}]`, env, path);
    const createdAt = str(o.createdAt, `credentials[${i}].createdAt`);
    const when = createdAt !== undefined ? new Date(createdAt) : undefined;
    if (when !== undefined && Number.isNaN(when.getTime()))
      fail(`credentials[${i}].createdAt is not a date`);
    out.push({ accessKeyId, secretAccessKey, ...(when !== undefined ? { createdAt: when } : {}) });
  }
  return out;
}

function loadBackend(
  b: Json,
  raw: Json,
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
): BackendConfig {
  const get = <T>(x: XksSetting<T>) => xksSetting(x, raw, env);
  const type = get(S.backendType) ?? 'software';
  if (type === 'software') {
    const keyFile = get(S.keyFile);
    if (keyFile === undefined)
      fail('backend.keyFile (or KEYHOLD_XKS_KEY_FILE) is required for the software backend');
    const passphrase =
      envSecret(env, S.passphrase.env) ?? secret(b, 'passphrase', 'backend', env, path);
    return { type, keyFile: path(keyFile), passphrase, ...counterFile(raw, path) };
  }
  if (type === 'pkcs11') {
    const module = get(S.pkcs11Module);
    const tokenLabel = get(S.pkcs11Token);
    if (module === undefined || tokenLabel === undefined) {
      fail('backend.module and backend.tokenLabel are required for the pkcs11 backend');
    }
    const pin = envSecret(env, S.pkcs11Pin.env) ?? secret(b, 'pin', 'backend', env, path);
    const disabledKeys = get(S.disabledKeys);
    const maxSessions = get(S.maxSessions);
    return {
      type,
      module,
      tokenLabel,
      pin,
      ...(disabledKeys !== undefined ? { disabledKeys } : {}),
      ...(maxSessions !== undefined ? { maxSessions } : {}),
      // Default: next to the config file.
      invocationCounterFile: path(get(S.invocationCounterFile) ?? 'xks-gcm-invocations.json'),
    };
  }
  return fail(`backend.type must be 'software' or 'pkcs11', not '${type}'`);
}

function counterFile(raw: Json, path: (p: string) => string): { invocationCounterFile?: string } {
  const f = xksSetting(S.invocationCounterFile, raw, {});
  return f === undefined ? {} : { invocationCounterFile: path(f) };
}
/**
 * The counter file of a backend: configured, else `<keyFile>.invocations.json` next to the
 * software key file; for PKCS#11 the config file's `xks-gcm-invocations.json` (set by the
 * loader), else that name in the working directory.
 */
export function invocationCounterPath(b: BackendConfig): string {
  if (b.invocationCounterFile !== undefined) return b.invocationCounterFile;
  if (b.type === 'software') return `${b.keyFile}.invocations.json`;
  return resolve('xks-gcm-invocations.json');
}

/** `name` inline, `nameFile` (a path) or `nameEnv` (a variable name). */
function secret(
  o: Json,
  name: string,
  where: string,
  env: NodeJS.ProcessEnv,
  path: (p: string) => string,
): string {
  const file = str(o[`${name}File`], `${where}.${name}File`);
  if (file !== undefined) return readText(path(file), `${where}.${name}File`).trim();
  const envName = str(o[`${name}Env`], `${where}.${name}Env`);
  if (envName !== undefined) {
    const v = env[envName];
    if (v === undefined || v === '') fail(`${where}.${name}Env names ${envName}, which is not set`);
    return v;
  }
  const v = str(o[name], `${where}.${name}`);
  if (v === undefined) fail(`${where}.${name} (or ${name}File / ${name}Env) is required`);
  return v;
}

function envSecret(env: NodeJS.ProcessEnv, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const file = env[`${name}_FILE`];
  if (file) return readText(file, name).trim();
  return env[name] || undefined;
}

function readText(p: string, what: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch (err) {
    return fail(`cannot read ${what} ${p}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

function obj(v: unknown, name: string): Json {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) fail(`${name} must be an object`);
  return v as Json;
}
