/**
 * `node dist/bench/stages.js`: where the microseconds of one GenerateDataKey, Encrypt and
 * Decrypt go, measured in-process without sockets, so two shared cores do not blur it.
 *
 * - End to end: the real API handler (server/pipeline/: front door, KMS codec) is
 *   driven with pre-signed requests as IncomingMessage/ServerResponse pairs, 64 in flight
 *   (and 1), audit durably committed as always. "main-thread µs/req" is the event loop's
 *   active time (performance.eventLoopUtilization) divided by the requests: keyhold's own
 *   JavaScript work (inflated by preemption on a busy machine), without the kernel's socket
 *   work; "process CPU µs/req" is the whole process's CPU time (all threads: the audit
 *   writer's inserts and fsyncs too) divided by the requests.
 * - Per stage: each stage's function run alone in a loop with the same inputs, timed with
 *   process.hrtime.bigint.
 *
 * Every figure is the median of ROUNDS rounds, with the lowest and highest round. Env:
 * STAGES_ROUNDS (default 7), STAGES_N (requests per end-to-end round, default 3000).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { buildEvent, eventIndex } from '../src/audit/event.js';
import { chainHash } from '../src/audit/chain.js';
import { parseAuthorization, SigV4Verifier } from '../src/auth/sigv4.js';
import { loadConfig } from '../src/config/config.js';
import { OPERATIONS } from '../src/kms/registry.js';
import { observeKmsRequest } from '../src/metrics/kms-metrics.js';
import { sendBody } from '../src/protocol/http-message.js';
import { encodeOutput } from '../src/protocol/json.js';
import { parseInput } from '../src/protocol/validate/index.js';
import { startKeyhold, type KeyholdNode } from '../src/server/app.js';
import { KMS_CONTENT_TYPE } from '../src/server/pipeline/kms.js';
import { SmithySigV4Verifier } from '../test/helpers/sigv4-reference.js';
import { signRequest } from './load.js';

const ROUNDS = Number(process.env.STAGES_ROUNDS ?? 7);
const N = Number(process.env.STAGES_N ?? 3000);
const CREDS = {
  accessKeyId: 'AKIASTAGESBENCH00001',
  secretAccessKey: 'stagesBENCHstages/BENCHstagesBENCH000000',
};
const HOST = '127.0.0.1';
const PORT = 8420;

interface Signed {
  op: string;
  headers: Record<string, string>;
  body: Buffer;
}

async function sign(op: string, body: unknown): Promise<Signed> {
  const text = JSON.stringify(body);
  const s = await signRequest({
    host: HOST,
    port: PORT,
    region: 'us-east-1',
    credentials: CREDS,
    op,
    body: text,
  });
  const headers = { ...s.headers, 'content-length': String(Buffer.byteLength(text)) };
  return { op, headers, body: Buffer.from(text, 'utf8') };
}

/** One request as Node's HTTP server would hand it over, its body already in the stream. */
function message(s: Signed): { req: IncomingMessage; res: ServerResponse; out: () => string } {
  const req = new IncomingMessage(new Socket());
  req.method = 'POST';
  req.url = '/';
  req.headers = { ...s.headers };
  req.push(Buffer.from(s.body)); // a copy: the server zeroes request bodies it is done with
  req.push(null);
  // As Node's parser marks a request whose body arrived whole; without it every request's
  // 'close' looked like a client gone mid-body and built a RequestAbortedError (and the
  // stream's premature-close error) that the real server never builds: ~6 % of the profile.
  req.complete = true;
  const res = new ServerResponse(req);
  let written = '';
  const end = res.end.bind(res) as (chunk: string) => ServerResponse;
  res.end = ((chunk: string) => {
    written = chunk;
    return end(chunk);
  }) as typeof res.end;
  return { req, res, out: () => written };
}

async function call(node: KeyholdNode, s: Signed): Promise<Record<string, unknown>> {
  const { req, res, out } = message(s);
  await node.handleApi(req, res);
  if (res.statusCode !== 200) throw new Error(`${s.op}: ${res.statusCode} ${out()}`);
  return JSON.parse(out()) as Record<string, unknown>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function fmt(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const d = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));
  return `${d(median(s))} (${d(s[0] as number)}–${d(s[s.length - 1] as number)})`;
}

/**
 * µs per call of `fn`, one figure per round: the process's CPU time (user + system), which a
 * busy shared machine inflates far less than wall time (process.hrtime figures at load 12
 * on 2 cores swung 5×).
 */
async function stage(fn: () => unknown, iterations = 2000): Promise<number[]> {
  for (let i = 0; i < 200; i++) await fn();
  const out: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) await fn();
    const c = process.cpuUsage(c0);
    out.push((c.user + c.system) / iterations);
  }
  return out;
}

/** End to end at concurrency c: main-thread µs/req and wall µs/req, one pair per round. */
async function endToEnd(
  node: KeyholdNode,
  s: Signed,
  c: number,
  n: number,
): Promise<{ cpu: number[]; proc: number[]; wall: number[] }> {
  const cpu: number[] = [];
  const proc: number[] = [];
  const wall: number[] = [];
  for (let r = -1; r < ROUNDS; r++) {
    let left = n;
    const elu0 = performance.eventLoopUtilization();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const worker = async () => {
      while (left-- > 0) {
        const { req, res, out } = message(s);
        await node.handleApi(req, res);
        if (res.statusCode !== 200) throw new Error(`${s.op}: ${res.statusCode} ${out()}`);
      }
    };
    await Promise.all(Array.from({ length: c }, worker));
    const elu = performance.eventLoopUtilization(elu0);
    const used = process.cpuUsage(c0);
    if (r < 0) continue; // warm-up round
    cpu.push((elu.active * 1000) / n);
    proc.push((used.user + used.system) / n);
    wall.push(((performance.now() - t0) * 1000) / n);
  }
  return { cpu, proc, wall };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-stages-'));
  const config = loadConfig(
    { port: 0, dataDir },
    {
      KEYHOLD_ACCESS_KEY_ID: CREDS.accessKeyId,
      KEYHOLD_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
      KEYHOLD_REGION: 'us-east-1',
      KEYHOLD_QUOTAS: 'off',
      KEYHOLD_METRICS: 'off',
    },
  );
  const node = await startKeyhold(config, { logger: pino({ level: 'warn' }), jobIntervalMs: 0 });
  try {
    const created = await call(node, await sign('CreateKey', {}));
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
    const plaintext = randomBytes(1024).toString('base64');
    const enc = await call(node, await sign('Encrypt', { KeyId: keyId, Plaintext: plaintext }));
    const requests: Signed[] = [
      await sign('GenerateDataKey', { KeyId: keyId, KeySpec: 'AES_256' }),
      await sign('Encrypt', { KeyId: keyId, Plaintext: plaintext }),
      await sign('Decrypt', { CiphertextBlob: enc.CiphertextBlob }),
    ];
    const lines: string[] = [];
    const row = (name: string, xs: number[]) => lines.push(`| ${name} | ${fmt(xs)} |`);
    lines.push(`Node ${process.version}, ${ROUNDS} rounds; µs, median (min–max of rounds)`, '');
    lines.push('| stage | µs |', '| --- | --: |');
    for (const s of requests) {
      const e64 = await endToEnd(node, s, 64, N);
      const e1 = await endToEnd(node, s, 1, Math.ceil(N / 4));
      row(`${s.op}: end to end, process CPU µs/req, c=64`, e64.proc);
      row(`${s.op}: end to end, main-thread busy µs/req, c=64`, e64.cpu);
      row(`${s.op}: end to end, wall µs/req, c=64`, e64.wall);
      row(`${s.op}: end to end, process CPU µs/req, c=1`, e1.proc);
      row(`${s.op}: end to end, wall µs/req, c=1`, e1.wall);
    }
    await stageRows(node, requests, row);
    console.log(lines.join('\n'));
  } finally {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function stageRows(
  node: KeyholdNode,
  requests: Signed[],
  row: (name: string, xs: number[]) => void,
): Promise<void> {
  const deps = node.requestDeps;
  const gdk = requests[0] as Signed;
  const signedReq = { method: 'POST', host: `${HOST}:${PORT}`, path: '/', headers: gdk.headers };
  row('request: two random UUIDs', await stage(() => [randomUUID(), randomUUID()]));
  row(
    'SigV4: header checks (Authorization, access key, scope, skew)',
    await stage(() => deps.authenticator.checkHeaders(signedReq)),
  );
  const parsed = parseAuthorization(signedReq);
  const smithy = new SmithySigV4Verifier(CREDS.accessKeyId, CREDS.secretAccessKey);
  const own = new SigV4Verifier(CREDS.accessKeyId, CREDS.secretAccessKey);
  const full = { ...signedReq, body: gdk.body };
  row(
    'SigV4: signature, @smithy/signature-v4 (before)',
    await stage(() => smithy.verify(full, parsed)),
  );
  row('SigV4: signature, keyhold verifier (after)', await stage(() => own.verify(full, parsed)));
  row(
    'SigV4: authenticate (header checks + signature)',
    await stage(() => deps.authenticator.authenticate(full)),
  );
  const auth = await deps.authenticator.authenticate(full);
  for (const s of requests) {
    const op = s.op;
    row(
      `${op}: JSON parse + model validation`,
      await stage(() => parseInput(op, JSON.parse(s.body.toString('utf8')))),
    );
    const input = parseInput(op, JSON.parse(s.body.toString('utf8')));
    const handler = OPERATIONS.get(op)?.handler as (c: unknown, i: unknown) => Promise<unknown>;
    const ctx = () => ({
      requestId: randomUUID(),
      region: 'us-east-1',
      principal: auth.principal,
      sourceIp: '127.0.0.1',
      userAgent: 'bench',
      now: new Date(),
      services: deps.services,
      operation: op,
      keyArns: [] as string[],
      sensitive: [] as Buffer[],
    });
    row(
      `${op}: operation (key resolution, authorization, HSM)`,
      await stage(() => handler(ctx(), input)),
    );
    const c = ctx();
    const output = (await handler(c, input)) as Record<string, unknown>;
    const auditInput = {
      requestId: c.requestId,
      eventId: randomUUID(),
      eventTime: c.now,
      operation: op,
      region: 'us-east-1',
      sourceIp: '127.0.0.1',
      userAgent: 'aws-sdk-js/3.0 ua/2.1 os/linux lang/js md/nodejs#22',
      principal: auth.principal,
      recipientAccountId: auth.principal.accountId,
      input,
      output,
      keyArns: c.keyArns,
      readOnly: false,
    };
    row(
      `${op}: audit event build + index + JSON`,
      await stage(() => {
        const ev = buildEvent(auditInput);
        return [eventIndex(ev), JSON.stringify(ev)];
      }),
    );
    const body = JSON.stringify(buildEvent(auditInput));
    const key = randomBytes(32);
    const prev = randomBytes(32);
    row(`${op}: audit chain HMAC`, await stage(() => chainHash(key, prev, 12345, body)));
    row(`${op}: response JSON (encodeOutput)`, await stage(() => encodeOutput(output)));
    const text = encodeOutput(output);
    row(
      `${op}: response write (writeHead + end, no socket)`,
      await stage(() => {
        const res = new ServerResponse(new IncomingMessage(new Socket()));
        sendBody(res, 200, c.requestId, KMS_CONTENT_TYPE, text);
      }),
    );
  }
  row(
    'metrics: observe one request',
    await stage(() => observeKmsRequest('Encrypt', 0.001, undefined)),
  );
}

await main();
