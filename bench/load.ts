/**
 * A lean closed-loop load generator for keyhold's AWS JSON 1.1 API.
 *
 * The request is SigV4-signed once (and again every `resignIntervalMs`, so a long run stays
 * inside the server's 5-minute clock-skew window), serialized to raw HTTP/1.1 bytes, and
 * written as-is over one keep-alive `net` socket per concurrency slot. Responses are parsed
 * only as far as needed: the status code and the body length (Content-Length, or the end of
 * a chunked body). The first 200 response of a run is JSON-parsed to check it carries the
 * expected field; nothing else is. This keeps the generator well under one core at the
 * request rates keyhold reaches, so on a shared machine it does not become the bottleneck.
 *
 * If `wrk` is on PATH and BENCH_WRK=1, `runWrk` drives the same pre-signed request with a
 * generated Lua script instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface BenchCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** One KMS call to repeat: `op` is the operation name (the X-Amz-Target suffix). */
export interface RequestSpec {
  host: string;
  port: number;
  region: string;
  credentials: BenchCredentials;
  op: string;
  body: string;
}

export interface SignedRequestParts {
  headers: Record<string, string>;
  body: string;
}

/** Sign `spec` now and return the headers to send (host, content-type, target, date, auth). */
export async function signRequest(spec: RequestSpec): Promise<SignedRequestParts> {
  const signer = new SignatureV4({
    credentials: spec.credentials,
    region: spec.region,
    service: 'kms',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const request = new HttpRequest({
    method: 'POST',
    protocol: 'http:',
    hostname: spec.host,
    port: spec.port,
    path: '/',
    headers: {
      host: `${spec.host}:${spec.port}`,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${spec.op}`,
    },
    body: spec.body,
  });
  const signed = await signer.sign(request);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = String(v);
  return { headers, body: spec.body };
}

/** Sign `spec` now and serialize it to the exact bytes of one HTTP/1.1 request. */
export async function buildRawRequest(spec: RequestSpec): Promise<Buffer> {
  const { headers, body } = await signRequest(spec);
  const bodyBytes = Buffer.from(body, 'utf8');
  let head = 'POST / HTTP/1.1\r\n';
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  head += `content-length: ${bodyBytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes]);
}

export interface LoadOptions {
  spec: RequestSpec;
  concurrency: number;
  /** Measured window. */
  durationMs: number;
  /** Unmeasured load before the window (same sockets). */
  warmupMs: number;
  /** Re-sign this often during a run (default 60 s). */
  resignIntervalMs?: number;
  /** A top-level field the first 200 response's JSON body must have. */
  expectField?: string;
}

export interface LoadResult {
  /** Responses completed inside the measured window. */
  requests: number;
  /** Of those, responses whose status was not 200, plus requests lost to socket errors. */
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Status code → count, inside the window. */
  statuses: Record<string, number>;
  socketErrors: number;
  /** CPU used by this (generator) process during the window, % of one core; NaN for wrk. */
  generatorCpuPct: number;
  /** Status and start of the body of the first non-200 response, if any. */
  firstError?: string;
  /** Set when the first 200 response lacked `expectField` (or was not JSON). */
  checkFailed?: string;
  generator: 'lean' | 'wrk';
  /** The measured window on the monotonic clock (process.hrtime), in µs. */
  windowStartUs: number;
  windowEndUs: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CL_NEEDLES = [
  Buffer.from('\r\ncontent-length:', 'latin1'),
  Buffer.from('\r\nContent-Length:', 'latin1'),
  Buffer.from('\r\nCONTENT-LENGTH:', 'latin1'),
];
const CHUNKED_NEEDLES = [
  Buffer.from('chunked', 'latin1'),
  Buffer.from('Chunked', 'latin1'),
  Buffer.from('CHUNKED', 'latin1'),
];
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n', 'latin1');

/** Growable Float64Array of latencies in nanoseconds (numbers, not bigints). */
class Samples {
  #a = new Float64Array(1 << 16);
  #n = 0;
  push(v: number): void {
    if (this.#n === this.#a.length) {
      const b = new Float64Array(this.#a.length * 2);
      b.set(this.#a);
      this.#a = b;
    }
    this.#a[this.#n++] = v;
  }
  sorted(): Float64Array {
    return this.#a.subarray(0, this.#n).sort();
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i] ?? 0;
}

/** Where a complete response ends in `buf`, or -1 if more bytes are needed; -2 if unparseable. */
function responseEnd(buf: Buffer, headerEnd: number): number {
  for (const needle of CL_NEEDLES) {
    const at = buf.indexOf(needle);
    if (at >= 0 && at < headerEnd) {
      let i = at + needle.length;
      while (buf[i] === 0x20 || buf[i] === 0x09) i++;
      let n = 0;
      let digits = 0;
      for (let c = buf[i]; c !== undefined && c >= 0x30 && c <= 0x39; c = buf[++i]) {
        n = n * 10 + (c - 0x30);
        digits++;
      }
      if (digits === 0) return -2;
      const end = headerEnd + 4 + n;
      return buf.length >= end ? end : -1;
    }
  }
  for (const needle of CHUNKED_NEEDLES) {
    const at = buf.indexOf(needle);
    if (at >= 0 && at < headerEnd) {
      const last = buf.indexOf(CHUNKED_END, headerEnd);
      if (last >= 0) return last + CHUNKED_END.length;
      // A bare "0\r\n\r\n" right after the header (empty chunked body).
      if (buf.length >= headerEnd + 9 && buf.indexOf('0\r\n\r\n', headerEnd + 4) === headerEnd + 4)
        return headerEnd + 9;
      return -1;
    }
  }
  // Responses without a body length (204/304) have none.
  const s = statusOf(buf);
  if (s === 204 || s === 304 || (s >= 100 && s < 200)) return headerEnd + 4;
  return -2;
}

function statusOf(buf: Buffer): number {
  // "HTTP/1.1 200 ..."
  const a = buf[9];
  const b = buf[10];
  const c = buf[11];
  if (a === undefined || b === undefined || c === undefined) return 0;
  return (a - 0x30) * 100 + (b - 0x30) * 10 + (c - 0x30);
}

function bodyText(buf: Buffer, headerEnd: number, end: number): string {
  return buf.toString('utf8', headerEnd + 4, end);
}

/** Run a closed-loop load: `concurrency` sockets, each sending the next request on a response. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const { spec, concurrency, durationMs, warmupMs, expectField } = opts;
  const resignIntervalMs = opts.resignIntervalMs ?? 60_000;
  let request = await buildRawRequest(spec);

  const samples = new Samples();
  const statuses = new Map<number, number>();
  let windowErrors = 0;
  let socketErrors = 0;
  let firstError: string | undefined;
  let checkFailed: string | undefined;
  let checked = expectField === undefined;

  let sending = true;
  let recording = false;
  let windowStart = 0n;
  let windowEnd = 0n;
  let inFlight = 0;
  let onDrained: (() => void) | undefined;

  const record = (status: number, latencyNs: number): void => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status !== 200) windowErrors++;
    samples.push(latencyNs);
  };

  class Conn {
    socket!: Socket;
    sentAt = 0n;
    busy = false;
    pending: Buffer | undefined;
    connected = false;

    open(): void {
      this.connected = false;
      this.pending = undefined;
      const s = connect({ host: spec.host, port: spec.port, noDelay: true });
      this.socket = s;
      s.on('connect', () => {
        this.connected = true;
        this.send();
      });
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('error', () => {
        /* handled on close */
      });
      s.on('close', () => this.onClose());
    }

    send(): void {
      if (!sending) return;
      this.busy = true;
      inFlight++;
      this.sentAt = process.hrtime.bigint();
      this.socket.write(request);
    }

    onData(chunk: Buffer): void {
      const buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
      const headerEnd = buf.indexOf(CRLFCRLF);
      if (headerEnd < 0) {
        this.pending = buf;
        return;
      }
      const end = responseEnd(buf, headerEnd);
      if (end === -1) {
        this.pending = buf;
        return;
      }
      const now = process.hrtime.bigint();
      if (end === -2 || !this.busy) {
        // Not a response we can frame, or bytes we did not ask for: drop the connection.
        socketErrors++;
        this.socket.destroy();
        return;
      }
      const status = statusOf(buf);
      if (recording && this.sentAt >= windowStart && now <= windowEnd) {
        record(status, Number(now - this.sentAt));
      }
      if (status !== 200 && firstError === undefined) {
        firstError = `${status}: ${bodyText(buf, headerEnd, end).slice(0, 300)}`;
      }
      if (status === 200 && !checked) {
        checked = true;
        checkFailed = checkBody(bodyText(buf, headerEnd, end), expectField as string);
      }
      if (end !== buf.length) {
        // Extra bytes after a response we did not pipeline: protocol error.
        socketErrors++;
        this.socket.destroy();
        return;
      }
      this.busy = false;
      inFlight--;
      if (sending) this.send();
      else if (inFlight === 0) onDrained?.();
    }

    onClose(): void {
      if (this.busy) {
        this.busy = false;
        inFlight--;
        socketErrors++;
        if (recording) windowErrors++;
      } else if (!this.connected) {
        socketErrors++;
      }
      if (sending) {
        setTimeout(() => this.open(), this.connected ? 0 : 20);
      } else if (inFlight === 0) {
        onDrained?.();
      }
    }
  }

  const conns: Conn[] = [];
  for (let i = 0; i < concurrency; i++) {
    const c = new Conn();
    conns.push(c);
    c.open();
  }

  const resign = setInterval(() => {
    buildRawRequest(spec).then(
      (r) => {
        request = r;
      },
      () => {
        /* keep the old one; it is still valid for a while */
      },
    );
  }, resignIntervalMs);

  await sleep(warmupMs);
  windowStart = process.hrtime.bigint();
  windowEnd = windowStart + BigInt(durationMs) * 1_000_000n;
  recording = true;
  const cpu0 = process.cpuUsage();
  await sleep(durationMs);
  sending = false;
  const stoppedAt = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  clearInterval(resign);

  // Let in-flight requests finish (not counted past the window), then close.
  if (inFlight > 0) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 10_000);
      onDrained = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
  recording = false;
  for (const c of conns) c.socket.destroy();

  const seconds = Number((stoppedAt < windowEnd ? stoppedAt : windowEnd) - windowStart) / 1e9;
  const sorted = samples.sorted();
  const statusObj: Record<string, number> = {};
  for (const [k, v] of statuses) statusObj[String(k)] = v;
  return {
    requests: sorted.length,
    errors: windowErrors,
    seconds,
    rps: sorted.length / seconds,
    p50Ms: percentile(sorted, 0.5) / 1e6,
    p90Ms: percentile(sorted, 0.9) / 1e6,
    p99Ms: percentile(sorted, 0.99) / 1e6,
    maxMs: (sorted[sorted.length - 1] ?? 0) / 1e6,
    statuses: statusObj,
    socketErrors,
    generatorCpuPct: (cpu.user + cpu.system) / 1e4 / seconds,
    ...(firstError !== undefined ? { firstError } : {}),
    ...(checkFailed !== undefined ? { checkFailed } : {}),
    generator: 'lean',
    windowStartUs: Number(windowStart / 1000n),
    windowEndUs: Number((stoppedAt < windowEnd ? stoppedAt : windowEnd) / 1000n),
  };
}

function checkBody(text: string, field: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && field in parsed) return undefined;
    return `first 200 response has no '${field}': ${text.slice(0, 200)}`;
  } catch {
    return `first 200 response is not JSON: ${text.slice(0, 200)}`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// wrk (optional)

/** True when BENCH_WRK=1 and a `wrk` binary runs. */
export function wrkWanted(): boolean {
  if (process.env['BENCH_WRK'] !== '1') return false;
  const r = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  // `wrk --version` exits 1 after printing its usage, but it ran.
  return r.error === undefined;
}

function luaString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/** Parse wrk's durations: "812.00us", "1.23ms", "1.01s", "2.00m". */
function wrkMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(s.trim());
  if (m === null) return NaN;
  const v = Number(m[1]);
  switch (m[2]) {
    case 'us':
      return v / 1000;
    case 'ms':
      return v;
    case 's':
      return v * 1000;
    case 'm':
      return v * 60_000;
    default:
      return v * 3_600_000;
  }
}

/**
 * The same load with wrk (one thread, `concurrency` connections). The warm-up and the
 * response check run on the lean generator first; wrk does the measured window. The
 * signature is made once, so the window must stay well inside the 5-minute skew.
 */
export async function runWrk(opts: LoadOptions): Promise<LoadResult> {
  const { spec, concurrency, durationMs, warmupMs } = opts;
  if (durationMs > 240_000) throw new Error('wrk runs are signed once: keep them under 4 min');
  const warm = await runLoad({ ...opts, durationMs: Math.max(warmupMs, 200), warmupMs: 0 });
  const startUs = Number(process.hrtime.bigint() / 1000n);
  const { headers, body } = await signRequest(spec);
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-wrk-'));
  try {
    const script = join(dir, 'req.lua');
    let lua = `wrk.method = "POST"\nwrk.path = "/"\nwrk.body = ${luaString(body)}\n`;
    for (const [k, v] of Object.entries(headers)) {
      // wrk derives Host from the URL, which is the same host:port we signed.
      if (k === 'host') continue;
      lua += `wrk.headers[${luaString(k)}] = ${luaString(v)}\n`;
    }
    writeFileSync(script, lua);
    const args = [
      '-t1',
      `-c${concurrency}`,
      `-d${Math.max(1, Math.round(durationMs / 1000))}s`,
      '--latency',
      '-s',
      script,
      `http://${spec.host}:${spec.port}/`,
    ];
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      p.stdout.on('data', (d: Buffer) => (text += d.toString()));
      p.stderr.on('data', (d: Buffer) => (text += d.toString()));
      p.on('error', reject);
      p.on('close', (code) =>
        code === 0 ? resolve(text) : reject(new Error(`wrk exited ${code}: ${text}`)),
      );
    });
    const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const p50 = /^\s+50%\s+(\S+)/m.exec(out);
    const p90 = /^\s+90%\s+(\S+)/m.exec(out);
    const p99 = /^\s+99%\s+(\S+)/m.exec(out);
    const max = /^\s+Latency\s+\S+\s+\S+\s+(\S+)/m.exec(out);
    const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const socketErrors = sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0);
    const requests = Number(total?.[1] ?? 0);
    const errors = Number(non2xx?.[1] ?? 0) + socketErrors;
    const result: LoadResult = {
      requests,
      errors,
      seconds: total === null ? 0 : wrkMs(`${total[2]}${total[3]}`) / 1000,
      rps: Number(rps?.[1] ?? 0),
      p50Ms: p50 === null ? NaN : wrkMs(p50[1] ?? ''),
      p90Ms: p90 === null ? NaN : wrkMs(p90[1] ?? ''),
      p99Ms: p99 === null ? NaN : wrkMs(p99[1] ?? ''),
      maxMs: max === null ? NaN : wrkMs(max[1] ?? ''),
      statuses: { '200': requests - Number(non2xx?.[1] ?? 0) },
      socketErrors,
      generatorCpuPct: NaN,
      generator: 'wrk',
      windowStartUs: startUs,
      windowEndUs: Number(process.hrtime.bigint() / 1000n),
    };
    if (non2xx !== null) result.statuses['non-2xx'] = Number(non2xx[1]);
    if (warm.firstError !== undefined) result.firstError = warm.firstError;
    if (warm.checkFailed !== undefined) result.checkFailed = warm.checkFailed;
    if (warm.errors > 0) result.errors += warm.errors;
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
