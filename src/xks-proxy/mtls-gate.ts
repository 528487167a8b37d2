/**
 * The mTLS handshake gate: refuse a bad client certificate with a TLS alert
 * (handshake_failure), as the XKS spec wants and AWS's XKS test client checks, instead of
 * Node's accept-then-reset.
 *
 * Node's TLS server verifies client certificates only after the handshake (its OpenSSL
 * verify callback always accepts). So the gate sits between the TCP socket and Node's
 * TLSSocket, reads the TLS records the client sends until its Certificate message, checks the
 * chain (client-cert-check.ts) and then either passes everything through untouched or,
 * without ever handing the certificate to OpenSSL, answers a fatal handshake_failure alert and
 * closes:
 *  - TLS 1.2: the Certificate message and the alert are plaintext records;
 *  - TLS 1.3: the Certificate message is encrypted under the client handshake traffic secret
 *    and the alert must be encrypted under the server application traffic secret (the
 *    client reads with it once it has the server's Finished). Both come from the server's
 *    `keylog` event (RFC 8446 §7.1 key schedule; key and iv by HKDF-Expand-Label, §7.3). The
 *    secrets stay in this module, are never logged and are zeroed when the gate is done.
 * After the decision the gate is a plain pass-through. Any parse failure fails closed.
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import {
  decryptRecord,
  encryptRecord,
  TLS13_SUITES as SUITES,
  type Tls13Suite,
} from './tls13-record-crypto.js';

const REC_CCS = 20;
const REC_ALERT = 21;
const REC_HANDSHAKE = 22;
const REC_APPDATA = 23;
const HS_CLIENT_HELLO = 1;
const HS_SERVER_HELLO = 2;
const HS_CERTIFICATE = 11;
const HS_CLIENT_KEY_EXCHANGE = 16;
const HS_FINISHED = 20;
const ALERT_HANDSHAKE_FAILURE = 40;
/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
const HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';
/** Refuse (fail closed) a client that sends more than this before its certificate. */
const MAX_HELD = 256 * 1024;

/** The server's keylog lines by client random (hex), so a gate finds its own secrets. */
const gates = new Map<string, MtlsGate>();

/** Feed a `keylog` line (NSS key log format) of the TLS server to the gate it belongs to. */
export function onServerKeylog(line: Buffer): void {
  const [label, random, secret] = line.toString('latin1').trim().split(' ');
  if (label === undefined || random === undefined || secret === undefined) return;
  gates.get(random.toLowerCase())?.secret(label, Buffer.from(secret, 'hex'));
}

/** Decides on a client's certificate chain (leaf first): undefined = accept, else why not. */
export type ChainCheck = (chainDer: Buffer[]) => string | undefined;

export class MtlsGate extends Duplex {
  readonly #raw: Socket;
  readonly #check: ChainCheck;
  readonly #onRefuse: (reason: string) => void;
  #clientBuf: Buffer = Buffer.alloc(0);
  #serverBuf: Buffer = Buffer.alloc(0);
  #handshake: Buffer = Buffer.alloc(0);
  #held: Buffer[] = [];
  #heldBytes = 0;
  #random: string | undefined;
  #version: 'tls12' | 'tls13' | undefined;
  #suite: Tls13Suite | undefined;
  #secrets = new Map<string, Buffer>();
  #clientSeq = 0n;
  /** parsing until the decision; then pass-through (or closed). */
  #mode: 'parse' | 'pass' | 'closed' = 'parse';

  constructor(raw: Socket, check: ChainCheck, onRefuse: (reason: string) => void) {
    super({ allowHalfOpen: false });
    this.#raw = raw;
    this.#check = check;
    this.#onRefuse = onRefuse;
    raw.on('data', (chunk: Buffer) => this.#fromClient(chunk));
    raw.on('end', () => this.push(null));
    raw.on('error', (err) => this.destroy(err));
    raw.on('close', () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.#raw.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.#raw.remotePort;
  }

  setNoDelay(v?: boolean): this {
    this.#raw.setNoDelay(v);
    return this;
  }

  setKeepAlive(enable?: boolean, delay?: number): this {
    this.#raw.setKeepAlive(enable, delay);
    return this;
  }

  setTimeout(ms: number, cb?: () => void): this {
    this.#raw.setTimeout(ms, cb);
    return this;
  }

  override _read(): void {
    // Data is pushed as it arrives from the socket.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.#mode === 'parse' && this.#version === undefined) this.#fromServer(chunk);
    if (this.#mode === 'closed') return done();
    this.#raw.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#raw.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#forget();
    this.#raw.destroy();
    done(err);
  }

  secret(label: string, value: Buffer): void {
    this.#secrets.get(label)?.fill(0);
    this.#secrets.set(label, value);
  }

  // ---- the server's side: only its (plaintext) ServerHello matters ----

  #fromServer(chunk: Buffer): void {
    this.#serverBuf = Buffer.concat([this.#serverBuf, chunk]);
    for (const rec of takeRecords(this, 'server')) {
      if (rec.type !== REC_HANDSHAKE || rec.body[0] !== HS_SERVER_HELLO) continue;
      const hello = parseServerHello(rec.body.subarray(4));
      if (hello === undefined) return this.#fail('malformed ServerHello');
      if (hello.retry) continue;
      this.#version = hello.tls13 ? 'tls13' : 'tls12';
      this.#suite = hello.tls13 ? SUITES[hello.suite] : undefined;
      if (hello.tls13 && this.#suite === undefined) return this.#fail('unexpected cipher suite');
      this.#serverBuf = Buffer.alloc(0);
      return;
    }
  }

  // ---- the client's side ----

  #fromClient(chunk: Buffer): void {
    if (this.#mode === 'pass') {
      this.push(chunk);
      return;
    }
    if (this.#mode === 'closed') return;
    this.#clientBuf = Buffer.concat([this.#clientBuf, chunk]);
    const before = this.#version;
    if (before === undefined) {
      // ClientHello phase: forward record by record, remembering the client random.
      for (const rec of takeRecords(this, 'client')) {
        if (rec.type === REC_HANDSHAKE && rec.body[0] === HS_CLIENT_HELLO && rec.body.length > 38) {
          this.#random ??= rec.body.subarray(6, 38).toString('hex');
          gates.set(this.#random, this);
        }
        this.push(rec.raw);
      }
      return;
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#heldBytes > MAX_HELD) return this.#fail('too much data before the certificate');
    for (const rec of takeRecords(this, 'client')) {
      const verdict = this.#clientRecord(rec.type, rec.raw);
      if (verdict === 'pass') return this.#pass();
      if (verdict !== undefined) return this.#refuse(verdict);
      if (this.#mode !== 'parse') return;
    }
  }

  /** undefined: keep reading; 'pass': no certificate to judge; else a reason to refuse. */
  #clientRecord(type: number, raw: Buffer): string | 'pass' | undefined {
    let payload: Buffer | undefined;
    if (this.#version === 'tls12') {
      if (type !== REC_HANDSHAKE) return 'pass'; // CCS (resumption) or an alert
      payload = raw.subarray(5);
    } else {
      if (type === REC_CCS) return undefined; // middlebox compatibility, RFC 8446 §D.4
      if (type !== REC_APPDATA) return 'pass';
      payload = this.#decryptClient(raw);
      if (payload === undefined) return 'undecryptable client record';
      if (payload.at(-1) !== REC_HANDSHAKE) return 'pass';
      payload = payload.subarray(0, payload.length - 1);
    }
    this.#handshake = Buffer.concat([this.#handshake, payload]);
    while (this.#handshake.length >= 4) {
      const len = this.#handshake.readUIntBE(1, 3);
      if (this.#handshake.length < 4 + len) break;
      const msgType = this.#handshake[0];
      const body = this.#handshake.subarray(4, 4 + len);
      this.#handshake = this.#handshake.subarray(4 + len);
      if (msgType === HS_CERTIFICATE) {
        const chain = parseCertificates(body, this.#version === 'tls13');
        if (chain === undefined) return 'malformed Certificate message';
        if (chain.length === 0) return 'pass'; // OpenSSL refuses (no certificate) itself
        return this.#check(chain) ?? 'pass';
      }
      if (msgType === HS_CLIENT_KEY_EXCHANGE || msgType === HS_FINISHED) return 'pass';
    }
    return undefined;
  }

  #decryptClient(record: Buffer): Buffer | undefined {
    const secret = this.#secrets.get('CLIENT_HANDSHAKE_TRAFFIC_SECRET');
    if (secret === undefined || this.#suite === undefined) return undefined;
    return decryptRecord(secret, this.#suite, this.#clientSeq++, record);
  }

  #pass(): void {
    this.#mode = 'pass';
    const held = Buffer.concat(this.#held);
    this.#held = [];
    this.#forget();
    this.push(held);
  }

  /** Answer a fatal handshake_failure alert the client can read, then close. */
  #refuse(reason: string): void {
    this.#onRefuse(reason);
    this.#mode = 'closed';
    let alert: Buffer | undefined;
    if (this.#version === 'tls12') {
      alert = Buffer.from([REC_ALERT, 3, 3, 0, 2, 2, ALERT_HANDSHAKE_FAILURE]);
    } else {
      const secret = this.#secrets.get('SERVER_TRAFFIC_SECRET_0');
      if (secret !== undefined && this.#suite !== undefined) {
        alert = encryptRecord(
          secret,
          this.#suite,
          Buffer.from([2, ALERT_HANDSHAKE_FAILURE, REC_ALERT]),
        );
      }
    }
    this.#forget();
    if (alert !== undefined) this.#raw.end(alert);
    else this.#raw.destroy();
    this.destroy();
  }

  #fail(reason: string): void {
    this.#onRefuse(reason);
    this.#mode = 'closed';
    this.#forget();
    this.#raw.destroy();
    this.destroy();
  }

  #forget(): void {
    if (this.#random !== undefined && gates.get(this.#random) === this) gates.delete(this.#random);
    for (const s of this.#secrets.values()) s.fill(0);
    this.#secrets.clear();
  }

  /** Internal to takeRecords: the buffer of one direction. */
  buffer(side: 'client' | 'server', next?: Buffer): Buffer {
    if (next !== undefined) {
      if (side === 'client') this.#clientBuf = next;
      else this.#serverBuf = next;
    }
    return side === 'client' ? this.#clientBuf : this.#serverBuf;
  }
}

/** Complete TLS records from one direction's buffer (TLSPlaintext / TLSCiphertext headers). */
function* takeRecords(
  gate: MtlsGate,
  side: 'client' | 'server',
): Generator<{ type: number; body: Buffer; raw: Buffer }> {
  for (;;) {
    const buf = gate.buffer(side);
    if (buf.length < 5) return;
    const len = buf.readUInt16BE(3);
    if (buf.length < 5 + len) return;
    gate.buffer(side, buf.subarray(5 + len));
    yield { type: buf[0] as number, body: buf.subarray(5, 5 + len), raw: buf.subarray(0, 5 + len) };
  }
}

function parseServerHello(
  b: Buffer,
): { tls13: boolean; suite: number; retry: boolean } | undefined {
  try {
    const retry = b.subarray(2, 34).toString('hex') === HRR_RANDOM;
    let p = 34;
    p += 1 + (b[p] as number); // session id
    const suite = b.readUInt16BE(p);
    p += 3; // suite + compression
    let tls13 = false;
    if (p + 2 <= b.length) {
      const end = p + 2 + b.readUInt16BE(p);
      for (p += 2; p + 4 <= end;) {
        const type = b.readUInt16BE(p);
        const len = b.readUInt16BE(p + 2);
        if (type === 43 && len === 2 && b.readUInt16BE(p + 4) === 0x0304) tls13 = true;
        p += 4 + len;
      }
    }
    return { tls13, suite, retry };
  } catch {
    return undefined;
  }
}

/** The DER certificates of a Certificate message (TLS 1.3 entries carry extensions). */
function parseCertificates(b: Buffer, tls13: boolean): Buffer[] | undefined {
  try {
    let p = tls13 ? 1 + (b[0] as number) : 0;
    const end = p + 3 + b.readUIntBE(p, 3);
    if (end !== b.length) return undefined;
    const certs: Buffer[] = [];
    for (p += 3; p < end;) {
      const len = b.readUIntBE(p, 3);
      certs.push(b.subarray(p + 3, p + 3 + len));
      p += 3 + len;
      if (tls13) p += 2 + b.readUInt16BE(p);
    }
    return p === end ? certs : undefined;
  } catch {
    return undefined;
  }
}
