/**
 * Test harness for keyhold's XKS proxy: a real proxy in this process (HTTPS with a test CA,
 * SigV4) on a random port, with a software key file or a SoftHSM2 token holding the keys you
 * ask for. Also a SigV4-signing HTTPS client for talking to it the way AWS KMS does.
 *
 *   const xks = await startTestXksProxy({ keys: [{ id: 'foo' }, { id: 'off', state: 'DISABLED' }] });
 *   // xks.url, xks.uriPath, xks.caPem, xks.credential → CreateCustomKeyStore
 *   await xks.setKeyState('foo', 'DISABLED');
 *   await xks.stop();
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { pino, type Logger } from 'pino';
import type { AuthorizationPolicy } from '../../src/xks-proxy/authorization.js';
import type { XksBackend, XksKeyStatus, XksKeyUsage } from '../../src/xks-proxy/backend.js';
import type { XksCredential, XksProxyConfig } from '../../src/xks-proxy/config.js';
import { XKS_DEFAULTS } from '../../src/xks-proxy/config.js';
import { KeyFile } from '../../src/xks-proxy/key-file.js';
import { startXksProxy, type XksProxy } from '../../src/xks-proxy/server.js';
import { SoftwareBackend } from '../../src/xks-proxy/software-backend.js';
import { createTestPki, type TestPki } from './tls.js';

export interface TestXksKey {
  id: string;
  state?: XksKeyStatus;
  usage?: XksKeyUsage[];
}

export interface StartTestXksProxyOptions {
  backend?: 'software' | 'pkcs11';
  /** Default: one key `foo` (ENABLED, ENCRYPT+DECRYPT). */
  keys?: TestXksKey[];
  /** Default: one fresh credential. Give two to test rotation. */
  credentials?: XksCredential[];
  /** Default `/example/uri/path/prefix` (the test client's). Use '' for none. */
  uriPrefix?: string;
  /** Require client certificates: `true` allows the PKI's client CN. */
  mtls?: boolean | { allowedSubjects: string[] };
  authorization?: AuthorizationPolicy;
  /** Reuse a PKI (e.g. one CA for several proxies); default: a new one, removed on stop. */
  pki?: TestPki;
  /** Turn on the plain-HTTP metrics listener (port 0). */
  metrics?: boolean;
  regions?: string[];
  logger?: Logger;
  now?: () => Date;
  /** Override config fields (limits, health, ...). */
  config?: Partial<XksProxyConfig>;
  /** Delay every backend call by this many ms (a slow HSM / slow proxy); see setDelay. */
  delayMs?: number;
}

export interface TestXksProxy {
  proxy: XksProxy;
  /** `https://127.0.0.1:<port>` (the certificate also names `localhost`). */
  url: string;
  /** `https://localhost:<port>`. */
  hostUrl: string;
  port: number;
  uriPrefix: string;
  /** `{uriPrefix}/kms/xks/v1` — the XksProxyUriPath. */
  uriPath: string;
  caPem: string;
  pki: TestPki;
  /** All live credentials; `credential` is the first. */
  credentials: XksCredential[];
  credential: XksCredential;
  metricsUrl?: string;
  backend: XksBackend;
  addKey(key: TestXksKey): Promise<void>;
  setKeyState(id: string, state: XksKeyStatus): Promise<void>;
  setKeyUsage(id: string, usage: XksKeyUsage[]): Promise<void>;
  removeKey(id: string): Promise<void>;
  /** Replace the live credentials (rotation). */
  setCredentials(credentials: XksCredential[]): void;
  /** Make every backend call (health included) take this much longer (0 = none). */
  setDelay(ms: number): void;
  /** A signed request to `{uriPath}/{path}` (e.g. 'health', 'keys/foo/encrypt'). */
  call(path: string, body: unknown, opts?: Partial<XksCallOptions>): Promise<XksResponse>;
  stop(): Promise<void>;
}

/** A credential KMS would accept: 20-char base32 access key id, 43-char secret. */
export function generateXksCredential(): XksCredential {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(20)].map((b) => alphabet[b % 32]).join('');
  return {
    accessKeyId: id,
    secretAccessKey: randomBytes(32).toString('base64').replace(/=+$/, ''),
  };
}

export interface KeyAdmin {
  add(k: TestXksKey): Promise<void>;
  state(id: string, s: XksKeyStatus): Promise<void>;
  usage(id: string, u: XksKeyUsage[]): Promise<void>;
  remove(id: string): Promise<void>;
}

export async function startTestXksProxy(
  opts: StartTestXksProxyOptions = {},
): Promise<TestXksProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-xks-'));
  const ownPki = opts.pki === undefined;
  const pki = opts.pki ?? createTestPki();
  const credentials = opts.credentials ?? [generateXksCredential()];
  const uriPrefix = opts.uriPrefix ?? '/example/uri/path/prefix';
  const keys = opts.keys ?? [{ id: 'foo' }];
  const opened = await openBackend(opts.backend ?? 'software', dir, keys);
  const { admin, backendConfig } = opened;
  const delay = { ms: opts.delayMs ?? 0 };
  const backend = delayed(opened.backend, delay);
  const mtls =
    opts.mtls === undefined || opts.mtls === false
      ? undefined
      : {
          ca: pki.caPem,
          allowedSubjects: opts.mtls === true ? [pki.client.cn] : opts.mtls.allowedSubjects,
        };
  const config: XksProxyConfig = {
    host: '127.0.0.1',
    port: 0,
    uriPrefix,
    tls: { cert: pki.server.certPem, key: pki.server.keyPem },
    ...(mtls !== undefined ? { mtls } : {}),
    credentials,
    regions: opts.regions ?? [],
    maxSkewSeconds: XKS_DEFAULTS.maxSkewSeconds,
    backend: backendConfig,
    health: { fleetSize: 1, vendor: 'keyhold', model: 'keyhold xks-proxy (test)' },
    ...(opts.authorization !== undefined ? { authorization: opts.authorization } : {}),
    ...(opts.metrics === true ? { metrics: { host: '127.0.0.1', port: 0 } } : {}),
    limits: { ...XKS_DEFAULTS.limits },
    ...opts.config,
  };
  const proxy = await startXksProxy(config, {
    backend,
    logger: opts.logger ?? pino({ level: 'silent' }),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
  const uriPath = `${uriPrefix}/kms/xks/v1`;
  const live = [...credentials];
  const t: TestXksProxy = {
    proxy,
    url: proxy.url,
    hostUrl: `https://localhost:${proxy.port}`,
    port: proxy.port,
    uriPrefix,
    uriPath,
    caPem: pki.caPem,
    pki,
    credentials: live,
    credential: live[0] as XksCredential,
    ...(proxy.metricsUrl !== undefined ? { metricsUrl: proxy.metricsUrl } : {}),
    backend,
    addKey: (k) => admin.add(k),
    setKeyState: (id, s) => admin.state(id, s),
    setKeyUsage: (id, u) => admin.usage(id, u),
    removeKey: (id) => admin.remove(id),
    setDelay(ms) {
      delay.ms = ms;
    },
    setCredentials(c) {
      proxy.setCredentials(c);
      live.splice(0, live.length, ...c);
      t.credential = live[0] as XksCredential;
    },
    call: (path, body, o = {}) =>
      xksCall({
        url: proxy.url,
        path: `${uriPath}/${path}`,
        body,
        credential: t.credential,
        ca: pki.caPem,
        ...o,
      }),
    async stop() {
      await proxy.close();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
      if (ownPki) pki.cleanup();
    },
  };
  return t;
}

/** The backend with an adjustable delay in front of every call (fault injection for timeouts). */
function delayed(inner: XksBackend, delay: { ms: number }): XksBackend {
  const wait = () =>
    delay.ms > 0 ? new Promise((r) => setTimeout(r, delay.ms)) : Promise.resolve();
  return {
    kind: inner.kind,
    ekmVendor: inner.ekmVendor,
    metadata: async (id) => (await wait(), inner.metadata(id)),
    encrypt: async (id, p, a) => (await wait(), inner.encrypt(id, p, a)),
    decrypt: async (id, c, iv, t, a) => (await wait(), inner.decrypt(id, c, iv, t, a)),
    health: async () => (await wait(), inner.health()),
    close: () => inner.close(),
  };
}

async function openBackend(
  kind: 'software' | 'pkcs11',
  dir: string,
  keys: TestXksKey[],
): Promise<{ backend: XksBackend; admin: KeyAdmin; backendConfig: XksProxyConfig['backend'] }> {
  if (kind === 'pkcs11') {
    const { openTestPkcs11Backend } = await import('./xks-pkcs11.js');
    return openTestPkcs11Backend(dir, keys);
  }
  const passphrase = randomBytes(18).toString('base64');
  const path = join(dir, 'xks-keys.json');
  // A cheap scrypt cost for tests; the CLI uses the default (N=2^15).
  const file = await KeyFile.create(path, passphrase, { N: 1024, r: 8, p: 1 });
  for (const k of keys) await file.addKey(k);
  file.close();
  const backend = await SoftwareBackend.open(path, passphrase);
  const kf = () => backend.keyFile;
  return {
    backend,
    backendConfig: { type: 'software', keyFile: path, passphrase },
    admin: {
      add: async (k) => void (await kf().addKey(k)),
      state: (id, s) => kf().setState(id, s),
      usage: (id, u) => kf().setUsage(id, u),
      remove: (id) => kf().removeKey(id),
    },
  };
}

export interface XksCallOptions {
  url: string;
  path: string;
  body: unknown;
  credential: XksCredential;
  ca: string;
  region: string;
  method: string;
  /** Client certificate for mTLS. */
  cert?: string;
  key?: string;
  /** Send this exact body text instead of JSON.stringify(body). */
  rawBody?: string;
  /** Sign as of this time (clock-skew tests). */
  signingDate?: Date;
  service?: string;
  /** Skip signing entirely. */
  unsigned?: boolean;
  headers?: Record<string, string>;
}

export interface XksResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One request signed as AWS KMS signs it (SigV4, service kms-xks-proxy, host + x-amz-date). */
export async function xksCall(
  o: Partial<XksCallOptions> & Pick<XksCallOptions, 'url' | 'path' | 'credential' | 'ca'>,
): Promise<XksResponse> {
  const u = new URL(o.url);
  const text = o.rawBody ?? (o.body === undefined ? '' : JSON.stringify(o.body));
  const method = o.method ?? 'POST';
  let headers: Record<string, string> = {
    host: u.host,
    'content-type': 'application/json',
    ...o.headers,
  };
  if (o.unsigned !== true) {
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: o.credential.accessKeyId,
        secretAccessKey: o.credential.secretAccessKey,
      },
      region: o.region ?? 'us-east-1',
      service: o.service ?? 'kms-xks-proxy',
      sha256: Hash.bind(null, 'sha256'),
      applyChecksum: false,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method,
        protocol: 'https:',
        hostname: u.hostname,
        port: Number(u.port),
        path: o.path,
        headers,
        body: text,
      }),
      {
        ...(o.signingDate !== undefined ? { signingDate: o.signingDate } : {}),
        unsignableHeaders: new Set(['content-type']),
      },
    );
    headers = signed.headers as Record<string, string>;
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method,
        hostname: u.hostname,
        port: u.port,
        path: o.path,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(text)) },
        ca: o.ca,
        ...(o.cert !== undefined ? { cert: o.cert, key: o.key } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: body, json });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/** requestMetadata as KMS sends it for `kmsOperation`. */
export function requestMetadata(
  kmsOperation: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice',
    kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    kmsOperation,
    kmsRequestId: randomBytes(16).toString('hex'),
    ...extra,
  };
}
