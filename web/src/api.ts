/**
 * The console's only way in: SigV4-signed calls to this origin, exactly as any KMS client
 * makes them. KMS and STS go through the AWS SDK's browser build; the keyhold admin API
 * (KeyholdAdmin.<Op>, root only) through a small signed fetch with the same signer.
 * Credentials live in sessionStorage: gone when the tab closes, never sent anywhere else.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { ConsoleRetryStrategy } from './retry';

export interface Session {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** When temporary credentials expire (ISO 8601). */
  expiration?: string | undefined;
  /** The caller, from GetCallerIdentity. */
  arn: string;
  account: string;
}

const STORAGE_KEY = 'keyhold.console.session';

export function loadSession(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw === null ? undefined : (JSON.parse(raw) as Session);
  } catch {
    return undefined;
  }
}

export function saveSession(s: Session | undefined): void {
  if (s === undefined) sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
}

export function isRoot(s: Session): boolean {
  return s.arn.endsWith(':root');
}

type Creds = Pick<Session, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>;

function credsOf(c: Creds) {
  return {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
  };
}

const origin = () => window.location.origin;

let cached: { key: string; client: KMSClient } | undefined;

/** The KMS client for the signed-in session (one per credentials). */
export function kms(s: Session): KMSClient {
  const key = `${s.region}|${s.accessKeyId}|${s.sessionToken ?? ''}`;
  if (cached?.key !== key) {
    cached?.client.destroy();
    cached = {
      key,
      client: new KMSClient({
        endpoint: origin(),
        region: s.region,
        credentials: credsOf(s),
        // Throttling is retried with backoff (retry.ts); what still fails reaches the page.
        retryStrategy: new ConsoleRetryStrategy(),
      }),
    };
  }
  return cached.client;
}

function sts(region: string, c: Creds): STSClient {
  return new STSClient({ endpoint: origin(), region, credentials: credsOf(c), maxAttempts: 1 });
}

/** Check the credentials (GetCallerIdentity), optionally assume a role first. */
export async function signIn(
  region: string,
  creds: Creds,
  assume?: { roleArn: string; sessionName: string },
): Promise<Session> {
  let c: Creds & { expiration?: string } = creds;
  if (assume !== undefined) {
    const out = await sts(region, creds).send(
      new AssumeRoleCommand({ RoleArn: assume.roleArn, RoleSessionName: assume.sessionName }),
    );
    const t = out.Credentials;
    if (t?.AccessKeyId === undefined || t.SecretAccessKey === undefined)
      throw new Error('AssumeRole returned no credentials');
    c = {
      accessKeyId: t.AccessKeyId,
      secretAccessKey: t.SecretAccessKey,
      sessionToken: t.SessionToken,
      ...(t.Expiration !== undefined ? { expiration: t.Expiration.toISOString() } : {}),
    };
  }
  const who = await sts(region, c).send(new GetCallerIdentityCommand({}));
  return {
    region,
    ...c,
    arn: who.Arn ?? '',
    account: who.Account ?? '',
  };
}

/** An error from keyhold's admin API, named like the SDK's errors. */
export class AdminError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Call `KeyholdAdmin.<op>`: AWS JSON 1.1, SigV4 for service `kms`, like `keyhold admin`. */
export async function admin<T = Record<string, unknown>>(
  s: Session,
  op: string,
  input: Record<string, unknown> = {},
): Promise<T> {
  const url = new URL('/', origin());
  const body = JSON.stringify(input);
  const request = new HttpRequest({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port !== '' ? { port: Number(url.port) } : {}),
    path: '/',
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `KeyholdAdmin.${op}`,
    },
    body,
  });
  // The SDK's own SHA-256 (WebCrypto in secure contexts, a JS fallback elsewhere).
  const signer = new SignatureV4({
    credentials: credsOf(s),
    region: s.region,
    service: 'kms',
    sha256: kms(s).config.sha256,
  });
  const signed = await signer.sign(request);
  const headers = { ...signed.headers };
  delete headers['host']; // the browser sets Host itself (the same value was signed)
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  } catch {
    throw new AdminError('InvalidResponse', `Unexpected answer (HTTP ${res.status}).`);
  }
  if (!res.ok)
    throw new AdminError(
      String(json['__type'] ?? `HTTP${res.status}`),
      String(json['message'] ?? ''),
    );
  return json as T;
}

/** Every page of a paginated KMS list (Marker / NextMarker / Truncated). */
export async function allPages<T>(
  page: (marker: string | undefined) => Promise<{ items: T[]; next?: string | undefined }>,
): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const r = await page(marker);
    out.push(...r.items);
    marker = r.next;
  } while (marker !== undefined);
  return out;
}

/** Run `fn` over items with at most `limit` in flight; `onDone` reports progress. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  onDone?: (done: number) => void,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The Regions this keyhold serves (`/console/regions.json`), for the Region selector. */
export async function servedRegions(): Promise<string[]> {
  const res = await fetch(new URL('/console/regions.json', origin()));
  if (!res.ok) throw new AdminError(`HTTP${res.status}`, 'Could not read the Regions.');
  return ((await res.json()) as { Regions: string[] }).Regions;
}
