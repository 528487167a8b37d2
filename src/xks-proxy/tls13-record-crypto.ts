/**
 * TLS 1.3 record protection for the mTLS gate (RFC 8446 §5.2–5.3, §7.1, §7.3): traffic keys
 * from a traffic secret by HKDF-Expand-Label, the per-record nonce, AEAD open and seal of one
 * record. Keys and ivs are zeroed after each use; the secrets are the caller's.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  type CipherGCM,
  type CipherGCMTypes,
  type DecipherGCM,
} from 'node:crypto';

const REC_APPDATA = 23;

export interface Tls13Suite {
  cipher: string;
  keyLength: number;
  hash: string;
}

/** TLS 1.3 suites the proxy offers (tls-options.ts): AEAD, key length, HKDF hash. */
export const TLS13_SUITES: Readonly<Record<number, Tls13Suite>> = {
  0x1302: { cipher: 'aes-256-gcm', keyLength: 32, hash: 'sha384' },
  0x1303: { cipher: 'chacha20-poly1305', keyLength: 32, hash: 'sha256' },
};

/** HKDF-Expand-Label(secret, label, "", length) (RFC 8446 §7.1). */
function expandLabel(secret: Buffer, label: string, length: number, hash: string): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([
    Buffer.from([length >> 8, length & 0xff, full.length]),
    full,
    Buffer.from([0]),
  ]);
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    t = createHmac(hash, secret)
      .update(t)
      .update(info)
      .update(Buffer.from([i]))
      .digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

function trafficKey(secret: Buffer, suite: Tls13Suite): { key: Buffer; iv: Buffer } {
  return {
    key: expandLabel(secret, 'key', suite.keyLength, suite.hash),
    iv: expandLabel(secret, 'iv', 12, suite.hash),
  };
}

/** The per-record nonce: iv XOR the 64-bit sequence number, left-padded (RFC 8446 §5.3). */
function nonce(iv: Buffer, seq: bigint): Buffer {
  const n = Buffer.from(iv);
  const s = Buffer.alloc(8);
  s.writeBigUInt64BE(seq);
  for (let i = 0; i < 8; i++) n[4 + i] = (n[4 + i] as number) ^ (s[i] as number);
  return n;
}

/** The first record under `secret` (sequence 0): TLSCiphertext of TLSInnerPlaintext `inner`. */
export function encryptRecord(secret: Buffer, suite: Tls13Suite, inner: Buffer): Buffer {
  const { key, iv } = trafficKey(secret, suite);
  try {
    const header = Buffer.from([REC_APPDATA, 3, 3, 0, inner.length + 16]);
    const c = createCipheriv(suite.cipher as CipherGCMTypes, key, nonce(iv, 0n), {
      authTagLength: 16,
    }) as CipherGCM;
    c.setAAD(header);
    const body = Buffer.concat([c.update(inner), c.final(), c.getAuthTag()]);
    return Buffer.concat([header, body]);
  } finally {
    key.fill(0);
    iv.fill(0);
  }
}

/**
 * Open one TLSCiphertext record (header included) with sequence number `seq`: the
 * TLSInnerPlaintext without its zero padding (content, then the real content type), or
 * undefined when it does not authenticate.
 */
export function decryptRecord(
  secret: Buffer,
  suite: Tls13Suite,
  seq: bigint,
  record: Buffer,
): Buffer | undefined {
  if (record.length < 5 + 17) return undefined;
  const { key, iv } = trafficKey(secret, suite);
  try {
    // chacha20-poly1305 has the same AEAD interface as GCM.
    const d = createDecipheriv(suite.cipher as CipherGCMTypes, key, nonce(iv, seq), {
      authTagLength: 16,
    }) as DecipherGCM;
    d.setAAD(record.subarray(0, 5));
    d.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([d.update(record.subarray(5, record.length - 16)), d.final()]);
    let end = plain.length;
    while (end > 0 && plain[end - 1] === 0) end--;
    return plain.subarray(0, end);
  } catch {
    return undefined;
  } finally {
    key.fill(0);
    iv.fill(0);
  }
}
