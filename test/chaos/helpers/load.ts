/**
 * Concurrent write load with a ledger of what was acknowledged, and the check that every
 * acknowledged write is still there afterwards.
 *
 * "Acknowledged" means the client got a 200 response. A request that met a dead socket has an
 * unknown outcome (it may or may not have been committed) and is not in the ledger; a
 * 5xx is a refusal (not acknowledged) and is counted; a 4xx during chaos is a bug (e.g. an
 * acknowledged key that a later request cannot find), so it is recorded for the test to fail on.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  KMSServiceException,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeysCommand,
  type KMSClient,
  type ListAliasesResponse,
  type ListGrantsResponse,
  type ListKeysResponse,
} from '@aws-sdk/client-kms';

export const GRANTEE = 'arn:aws:iam::111122223333:role/chaos-app';

export type WriteOp = 'CreateKey' | 'CreateAlias' | 'CreateGrant' | 'Encrypt';

export interface Ciphertext {
  keyId: string;
  blob: Uint8Array;
  plaintext: Buffer;
  context: Record<string, string>;
}

export class Ledger {
  readonly keys: string[] = [];
  readonly aliases = new Map<string, string>();
  readonly grants: Array<{ keyId: string; grantId: string }> = [];
  readonly ciphertexts: Ciphertext[] = [];
  /** Request ids of acknowledged requests: each must have its audit event. */
  readonly requestIds = new Set<string>();
  readonly acked: Record<WriteOp, number> = {
    CreateKey: 0,
    CreateAlias: 0,
    CreateGrant: 0,
    Encrypt: 0,
  };
  /** Requests whose connection died: outcome unknown, not in the ledger. */
  unanswered = 0;
  /** 5xx answers (the node refused: e.g. its database was gone). */
  readonly serverErrors = new Map<string, number>();
  /** 4xx answers: never expected; each is a finding. */
  readonly clientErrors: string[] = [];
  /** When each acknowledged write was sent and answered (Date.now()), for recovery times. */
  readonly acks: Array<{ sent: number; answered: number }> = [];

  get total(): number {
    return Object.values(this.acked).reduce((a, b) => a + b, 0);
  }

  summary(): string {
    const a = this.acked;
    return (
      `${this.total} acknowledged writes (CreateKey ${a.CreateKey}, CreateAlias ${a.CreateAlias}, ` +
      `CreateGrant ${a.CreateGrant}, Encrypt ${a.Encrypt}); ${this.unanswered} unanswered; ` +
      `5xx ${JSON.stringify(Object.fromEntries(this.serverErrors))}; 4xx ${this.clientErrors.length}`
    );
  }
}

function pick<T>(xs: readonly T[]): T | undefined {
  return xs.length === 0 ? undefined : xs[Math.floor(Math.random() * xs.length)];
}

async function oneWrite(client: KMSClient, ledger: Ledger): Promise<void> {
  const key = pick(ledger.keys);
  const r = Math.random();
  const op: WriteOp =
    key === undefined || r < 0.25
      ? 'CreateKey'
      : r < 0.45
        ? 'CreateAlias'
        : r < 0.65
          ? 'CreateGrant'
          : 'Encrypt';
  const sent = Date.now();
  try {
    switch (op) {
      case 'CreateKey': {
        const out = await client.send(new CreateKeyCommand({ Description: 'chaos' }));
        ledger.keys.push(out.KeyMetadata?.KeyId as string);
        ack(ledger, op, out.$metadata.requestId, sent);
        return;
      }
      case 'CreateAlias': {
        const name = `alias/chaos-${randomUUID()}`;
        const out = await client.send(
          new CreateAliasCommand({ AliasName: name, TargetKeyId: key }),
        );
        ledger.aliases.set(name, key as string);
        ack(ledger, op, out.$metadata.requestId, sent);
        return;
      }
      case 'CreateGrant': {
        const out = await client.send(
          new CreateGrantCommand({
            KeyId: key,
            GranteePrincipal: GRANTEE,
            Operations: ['Encrypt', 'Decrypt'],
          }),
        );
        ledger.grants.push({ keyId: key as string, grantId: out.GrantId as string });
        ack(ledger, op, out.$metadata.requestId, sent);
        return;
      }
      case 'Encrypt': {
        const plaintext = randomBytes(1 + Math.floor(Math.random() * 256));
        const context = { chaos: randomUUID() };
        const out = await client.send(
          new EncryptCommand({ KeyId: key, Plaintext: plaintext, EncryptionContext: context }),
        );
        ledger.ciphertexts.push({
          keyId: key as string,
          blob: out.CiphertextBlob as Uint8Array,
          plaintext,
          context,
        });
        ack(ledger, op, out.$metadata.requestId, sent);
        return;
      }
    }
  } catch (err) {
    classify(ledger, op, err);
  }
}

function ack(ledger: Ledger, op: WriteOp, requestId: string | undefined, sent: number): void {
  ledger.acked[op]++;
  ledger.acks.push({ sent, answered: Date.now() });
  if (requestId === undefined) ledger.clientErrors.push(`${op}: response without a request id`);
  else ledger.requestIds.add(requestId);
}

function classify(ledger: Ledger, op: WriteOp, err: unknown): void {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (err instanceof KMSServiceException && status !== undefined && status >= 500) {
    const k = `${op}:${err.name}`;
    ledger.serverErrors.set(k, (ledger.serverErrors.get(k) ?? 0) + 1);
  } else if (err instanceof KMSServiceException || (status !== undefined && status < 500)) {
    ledger.clientErrors.push(`${op}: ${(err as Error).name}: ${(err as Error).message}`);
  } else {
    ledger.unanswered++;
  }
}

export interface LoadHandle {
  /** Stop starting new requests and wait for the in-flight ones to settle. */
  stop(): Promise<void>;
}

/** `workers` concurrent loops of random writes until stopped. */
export function startLoad(client: KMSClient, ledger: Ledger, workers: number): LoadHandle {
  let stopped = false;
  const loops = Array.from({ length: workers }, async () => {
    while (!stopped) {
      const before = ledger.unanswered;
      await oneWrite(client, ledger);
      // A dead node: do not spin; the harness is about to restart it.
      if (ledger.unanswered !== before) await sleep(25);
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Verified {
  keys: number;
  aliases: number;
  grants: number;
  ciphertexts: number;
}

/** Every acknowledged write, read back through a (fresh) node. Throws on the first loss. */
export async function verifyLedger(client: KMSClient, ledger: Ledger): Promise<Verified> {
  const keys = new Set<string>();
  let marker: string | undefined;
  do {
    const page: ListKeysResponse = await client.send(
      new ListKeysCommand({ Limit: 1000, Marker: marker }),
    );
    for (const k of page.Keys ?? []) keys.add(k.KeyId as string);
    marker = page.Truncated === true ? page.NextMarker : undefined;
  } while (marker !== undefined);
  const lostKeys = ledger.keys.filter((k) => !keys.has(k));
  if (lostKeys.length > 0) throw new Error(`acknowledged keys lost: ${lostKeys.join(', ')}`);

  const aliases = new Map<string, string>();
  marker = undefined;
  do {
    const page: ListAliasesResponse = await client.send(
      new ListAliasesCommand({ Limit: 100, Marker: marker }),
    );
    for (const a of page.Aliases ?? []) aliases.set(a.AliasName as string, a.TargetKeyId as string);
    marker = page.Truncated === true ? page.NextMarker : undefined;
  } while (marker !== undefined);
  for (const [name, keyId] of ledger.aliases) {
    if (aliases.get(name) !== keyId)
      throw new Error(`acknowledged alias ${name} → ${keyId} reads ${aliases.get(name)}`);
  }

  const byKey = new Map<string, Set<string>>();
  for (const g of ledger.grants) {
    const s = byKey.get(g.keyId) ?? new Set<string>();
    s.add(g.grantId);
    byKey.set(g.keyId, s);
  }
  await inParallel([...byKey], 4, async ([keyId, expected]) => {
    const found = new Set<string>();
    let m: string | undefined;
    do {
      const page: ListGrantsResponse = await client.send(
        new ListGrantsCommand({ KeyId: keyId, Limit: 100, Marker: m }),
      );
      for (const g of page.Grants ?? []) found.add(g.GrantId as string);
      m = page.Truncated === true ? page.NextMarker : undefined;
    } while (m !== undefined);
    for (const id of expected)
      if (!found.has(id)) throw new Error(`acknowledged grant ${id} on ${keyId} lost`);
  });

  await inParallel(ledger.ciphertexts, 8, async (c) => {
    const out = await client.send(
      new DecryptCommand({ CiphertextBlob: c.blob, EncryptionContext: c.context }),
    );
    if (!Buffer.from(out.Plaintext as Uint8Array).equals(c.plaintext))
      throw new Error(`ciphertext under ${c.keyId} decrypted to other bytes`);
    if (!(out.KeyId as string).endsWith(`:key/${c.keyId}`))
      throw new Error(`ciphertext under ${c.keyId} names key ${out.KeyId}`);
  });

  return {
    keys: ledger.keys.length,
    aliases: ledger.aliases.size,
    grants: ledger.grants.length,
    ciphertexts: ledger.ciphertexts.length,
  };
}

async function inParallel<T>(xs: readonly T[], n: number, fn: (x: T) => Promise<void>) {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < xs.length) await fn(xs[i++] as T);
    }),
  );
}

/** Request ids found in `keyhold audit tail` output (one CloudTrail JSON event per line). */
export function auditRequestIds(jsonLines: string): Set<string> {
  const ids = new Set<string>();
  for (const line of jsonLines.split('\n')) {
    if (line.trim() === '') continue;
    const ev = JSON.parse(line) as { requestID?: string };
    if (ev.requestID !== undefined) ids.add(ev.requestID);
  }
  return ids;
}
