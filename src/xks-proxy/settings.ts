/**
 * Every setting of `keyhold xks-proxy`, as one table: its field in the JSON config file, its
 * environment variable (which beats the file), its default, the parser of its value,
 * whether it is a secret, and one line saying what it does. loadXksProxyConfig (config.ts)
 * reads the scalar settings through `xksSetting` and the structured ones (credentials,
 * secrets, authorization) by the names given here; `keyhold xks-proxy --help` lists them and
 * scripts/gen-settings-doc.mjs writes docs/xks-proxy.md's table from them. Secrets may be
 * given inline, as `<field>File` / `<field>Env`, or by `<NAME>` / `<NAME>_FILE` in the
 * environment; their values are never printed.
 */
import { fail } from '../config/config-error.js';
import { DEFAULT_GCM_INVOCATION_LIMIT } from '../hsm/gcm-budget.js';

/** Reading one setting from the environment's text and from the file's JSON value. */
export interface XksParser<T> {
  readonly name: string;
  /** undefined = not given here (the file, then the default, apply). */
  fromEnv(raw: string, name: string): T | undefined;
  fromFile(v: unknown, name: string): T | undefined;
}

export interface XksSetting<T> {
  /** Dotted path in the config file (`tls.certFile`); absent: environment only. */
  readonly file?: string;
  readonly env?: string;
  readonly parser: XksParser<T>;
  readonly default?: T;
  /** The default as the docs show it (markdown). */
  readonly defaultText: string;
  readonly valueText?: string;
  readonly secret: boolean;
  readonly description: string;
}

function setting<T>(s: XksSetting<T>): XksSetting<T> {
  return s;
}

export function str(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(`${name} must be a string`);
  return v;
}

export function strList(v: unknown, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
    fail(`${name} must be an array of strings`);
  return v as string[];
}

export function int(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) fail(`${name} must be an integer`);
  return n;
}

/** A string; an empty environment variable is not given, the file's string is taken as it is. */
const text: XksParser<string> = {
  name: 'text',
  fromEnv: (raw) => (raw === '' ? undefined : raw),
  fromFile: (v, name) => str(v, name),
};

/** A string that falls back to its default when empty in the environment or the file. */
const word: XksParser<string> = {
  name: 'text',
  fromEnv: (raw) => (raw === '' ? undefined : raw),
  fromFile: (v, name) => str(v, name) || undefined,
};

/** A path: relative ones are relative to the config file (the loader resolves them). */
const path: XksParser<string> = { ...text, name: 'path' };

/** A string where an empty environment variable still counts (the root prefix ''). */
const prefix: XksParser<string> = {
  name: 'text',
  fromEnv: (raw) => raw,
  fromFile: (v, name) => str(v, name),
};

const integer: XksParser<number> = {
  name: 'integer',
  fromEnv: (raw, name) => int(raw, name),
  fromFile: (v, name) => int(v, name),
};

/** The environment's comma list, or the file's array of strings. */
const list: XksParser<string[]> = {
  name: 'list',
  fromEnv: (raw) =>
    raw === ''
      ? undefined
      : raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
  fromFile: (v, name) => strList(v, name),
};

/** Structured: read by the loader itself; the table names and documents it. */
function structured<T>(name: string): XksParser<T> {
  return {
    name,
    fromEnv: () => fail(`internal: ${name} is read by the loader`),
    fromFile: () => fail(`internal: ${name} is read by the loader`),
  };
}

export const XKS_DEFAULT_HOST = '0.0.0.0';
export const XKS_DEFAULT_PORT = 443;

/** In the docs' order. */
export const XKS_SETTINGS = {
  host: setting({
    file: 'host',
    env: 'KEYHOLD_XKS_HOST',
    parser: word,
    default: XKS_DEFAULT_HOST,
    defaultText: `\`${XKS_DEFAULT_HOST}\``,
    secret: false,
    description: 'address of the TLS listener',
  }),
  port: setting({
    file: 'port',
    env: 'KEYHOLD_XKS_PORT',
    parser: integer,
    default: XKS_DEFAULT_PORT,
    defaultText: `\`${XKS_DEFAULT_PORT}\``,
    secret: false,
    description: 'port of the TLS listener (AWS KMS only calls port 443)',
  }),
  uriPrefix: setting({
    file: 'uriPrefix',
    env: 'KEYHOLD_XKS_URI_PREFIX',
    parser: prefix,
    default: '',
    defaultText: "`''`",
    valueText: '`A-Z a-z 0-9 / - _`, total ≤ 128 chars',
    secret: false,
    description: 'the API is at `{uriPrefix}/kms/xks/v1`',
  }),
  tlsCert: setting({
    file: 'tls.certFile',
    env: 'KEYHOLD_XKS_TLS_CERT',
    parser: path,
    defaultText: 'required',
    valueText: 'path (PEM)',
    secret: false,
    description: 'server certificate chain',
  }),
  tlsKey: setting({
    file: 'tls.keyFile',
    env: 'KEYHOLD_XKS_TLS_KEY',
    parser: path,
    defaultText: 'required',
    valueText: 'path (PEM)',
    secret: false,
    description: "server certificate's private key",
  }),
  mtlsCa: setting({
    file: 'mtls.caFile',
    env: 'KEYHOLD_XKS_MTLS_CA',
    parser: path,
    defaultText: 'off',
    valueText: 'path (PEM)',
    secret: false,
    description: 'require client certificates chaining to this CA (mutual TLS)',
  }),
  mtlsSubjects: setting({
    file: 'mtls.allowedSubjects',
    env: 'KEYHOLD_XKS_MTLS_SUBJECTS',
    parser: list,
    defaultText: 'required with `mtls.caFile`',
    secret: false,
    description: 'client certificate subject CNs allowed (e.g. `cks.kms.us-east-1.amazonaws.com`)',
  }),
  credentials: setting({
    file: 'credentials',
    env: 'KEYHOLD_XKS_CREDENTIALS',
    parser: structured<never>('credentials'),
    defaultText: '≥ 1 required',
    valueText:
      'file: `[{accessKeyId, secretAccessKey|…File|…Env, createdAt?}]`; env: `ID:SECRET,ID:SECRET`',
    secret: true,
    description:
      'live SigV4 credentials (both lists count); ids 20–30 of `A-Z 2-7`, secrets 43–64 of `A-Z a-z 0-9 + / =`',
  }),
  regions: setting({
    file: 'regions',
    env: 'KEYHOLD_XKS_REGIONS',
    parser: list,
    default: [],
    defaultText: 'any',
    secret: false,
    description: 'accepted SigV4 scope Regions',
  }),
  maxClockSkewSeconds: setting({
    file: 'maxClockSkewSeconds',
    parser: integer,
    default: 300,
    defaultText: '`300`',
    secret: false,
    description: 'SigV4 clock skew (spec: 5 minutes)',
  }),
  backendType: setting({
    file: 'backend.type',
    env: 'KEYHOLD_XKS_BACKEND',
    parser: word,
    default: 'software',
    defaultText: '`software`',
    valueText: '`software` or `pkcs11`',
    secret: false,
    description: 'where the keys are (see Backends)',
  }),
  keyFile: setting({
    file: 'backend.keyFile',
    env: 'KEYHOLD_XKS_KEY_FILE',
    parser: path,
    defaultText: 'required (software)',
    secret: false,
    description: "the software backend's encrypted key file",
  }),
  passphrase: setting({
    file: 'backend.passphrase',
    env: 'KEYHOLD_XKS_KEY_FILE_PASSPHRASE',
    parser: structured<never>('text'),
    defaultText: 'required (software)',
    secret: true,
    description: "the key file's passphrase",
  }),
  pkcs11Module: setting({
    file: 'backend.module',
    env: 'KEYHOLD_XKS_PKCS11_MODULE',
    parser: text,
    defaultText: 'required (pkcs11)',
    valueText: 'path',
    secret: false,
    description: 'PKCS#11 library',
  }),
  pkcs11Token: setting({
    file: 'backend.tokenLabel',
    env: 'KEYHOLD_XKS_PKCS11_TOKEN',
    parser: text,
    defaultText: 'required (pkcs11)',
    secret: false,
    description: 'label of the PKCS#11 token holding the keys',
  }),
  pkcs11Pin: setting({
    file: 'backend.pin',
    env: 'KEYHOLD_XKS_PKCS11_PIN',
    parser: structured<never>('text'),
    defaultText: 'required (pkcs11)',
    secret: true,
    description: "the token's user PIN",
  }),
  disabledKeys: setting({
    file: 'backend.disabledKeys',
    parser: list,
    defaultText: 'none',
    secret: false,
    description: 'PKCS#11 has no key state: external key ids listed here report DISABLED',
  }),
  maxSessions: setting({
    file: 'backend.maxSessions',
    parser: integer,
    defaultText: 'the backend default',
    secret: false,
    description: 'PKCS#11 session pool size',
  }),
  invocationCounterFile: setting({
    file: 'backend.invocationCounterFile',
    parser: path,
    defaultText:
      '`<keyFile>.invocations.json`; pkcs11: `xks-gcm-invocations.json` next to the config file',
    secret: false,
    description: 'where the AES-GCM encryption counts per key are kept',
  }),
  fleetSize: setting({
    file: 'health.fleetSize',
    parser: integer,
    default: 1,
    defaultText: '`1`',
    secret: false,
    description: 'GetHealthStatus: HSMs in the fleet',
  }),
  vendor: setting({
    file: 'health.vendor',
    parser: text,
    default: 'keyhold',
    defaultText: '`keyhold`',
    secret: false,
    description: 'GetHealthStatus: HSM vendor',
  }),
  model: setting({
    file: 'health.model',
    parser: text,
    default: 'keyhold xks-proxy 0.1',
    defaultText: '`keyhold xks-proxy 0.1`',
    secret: false,
    description: 'GetHealthStatus: HSM model',
  }),
  ekmVendor: setting({
    file: 'health.ekmVendor',
    parser: text,
    defaultText: "the backend's",
    secret: false,
    description: 'GetHealthStatus: EKM vendor',
  }),
  authorization: setting({
    file: 'authorization',
    parser: structured<never>('rules'),
    defaultText: 'none (allow all)',
    secret: false,
    description: 'which callers may use which keys (see Authorization)',
  }),
  metricsHost: setting({
    file: 'metrics.host',
    env: 'KEYHOLD_XKS_METRICS_HOST',
    parser: word,
    default: '127.0.0.1',
    defaultText: '`127.0.0.1`',
    secret: false,
    description: 'address of the plain-HTTP Prometheus listener',
  }),
  metricsPort: setting({
    file: 'metrics.port',
    env: 'KEYHOLD_XKS_METRICS_PORT',
    parser: integer,
    defaultText: 'off',
    secret: false,
    description: 'port of the Prometheus listener; setting it turns metrics on',
  }),
  maxBodyBytes: setting({
    file: 'limits.maxBodyBytes',
    parser: integer,
    default: 256 * 1024,
    defaultText: '256 KiB',
    secret: false,
    description: 'largest request body; larger → UnsupportedOperationException',
  }),
  maxPlaintextBytes: setting({
    file: 'limits.maxPlaintextBytes',
    parser: integer,
    // Spec minimum: 4300 bytes.
    default: 65536,
    defaultText: '`65536`',
    secret: false,
    description: 'largest plaintext (spec minimum 4300); larger → UnsupportedOperationException',
  }),
  maxAadBytes: setting({
    file: 'limits.maxAadBytes',
    parser: integer,
    // Spec minimum 8192; the AAD format length-prefixes the AAD with a uint16.
    default: 65535,
    defaultText: '`65535`',
    secret: false,
    description: 'largest AAD (spec minimum 8192, at most 65535)',
  }),
  backendTimeoutMs: setting({
    file: 'limits.backendTimeoutMs',
    parser: integer,
    // KMS gives up after 250 ms; a backend stuck far longer is reported, not waited for.
    default: 2000,
    defaultText: '`2000`',
    valueText: 'ms',
    secret: false,
    description: 'a slower backend call → DependencyTimeoutException',
  }),
  maxRequestsPerSecond: setting({
    file: 'limits.maxRequestsPerSecond',
    parser: integer,
    default: 0,
    defaultText: '`0` (off)',
    secret: false,
    description: 'requests per second over all API paths; over it → ThrottlingException',
  }),
  gcmInvocationsPerKey: setting({
    file: 'limits.gcmInvocationsPerKey',
    parser: integer,
    default: DEFAULT_GCM_INVOCATION_LIMIT,
    defaultText: '`2^30`',
    valueText: 'integer ≤ 2^32',
    secret: false,
    description: 'encryptions per external key, then InvalidStateException (see Backends)',
  }),
} as const;

/** The file's value at a dotted path (undefined when a level is missing or not an object). */
function at(raw: Record<string, unknown>, dotted: string): unknown {
  let v: unknown = raw;
  for (const part of dotted.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** One setting: the environment, else the file, else the default. */
export function xksSetting<T>(
  s: XksSetting<T>,
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): T | undefined {
  const e = s.env !== undefined ? env[s.env] : undefined;
  if (e !== undefined && s.env !== undefined) {
    const v = s.parser.fromEnv(e, s.env);
    if (v !== undefined) return v;
  }
  if (s.file !== undefined) {
    const v = s.parser.fromFile(at(raw, s.file), s.file);
    if (v !== undefined) return v;
  }
  return s.default;
}
