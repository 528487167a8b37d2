/**
 * ML-DSA (FIPS 204) for ML_DSA_44 / ML_DSA_65 / ML_DSA_87 keys, on @noble/post-quantum
 * (audited, MIT): Node 20's crypto (OpenSSL 3.0) has no ML-DSA.
 *
 * Encodings (RFC 9881, "ML-DSA in X.509"), which is what AWS KMS returns and accepts:
 *  - public key: DER SubjectPublicKeyInfo, AlgorithmIdentifier = the parameter set's OID
 *    (id-ml-dsa-44/65/87 = 2.16.840.1.101.3.4.3.17/18/19) with absent parameters, the raw
 *    public key as the BIT STRING;
 *  - private key: DER PKCS #8 whose privateKey holds the 32-byte seed form `[0] seed`
 *    (the "both" form `SEQUENCE { seed, expandedKey }` is accepted on import when the
 *    expanded key matches the seed). The seed is what keyhold seals; the expanded secret key
 *    is derived from it inside the HSM when a key is used.
 *
 * Signing: MessageType RAW is ML-DSA.Sign (FIPS 204 Algorithm 2) with the empty context
 * string, hedged (fresh randomness per signature); EXTERNAL_MU signs a caller-computed
 * 64-byte μ = SHAKE256(tr || M', 64) (FIPS 204 §6.2, Algorithm 7 from step 7 on).
 */
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';

export type MlDsaLevel = 44 | 65 | 87;
export type MlDsaInput = 'RAW' | 'EXTERNAL_MU';

const ALGORITHMS = { 44: ml_dsa44, 65: ml_dsa65, 87: ml_dsa87 } as const;

/** DER (tag, length, content) of the OIDs id-ml-dsa-44/65/87 = 2.16.840.1.101.3.4.3.17/18/19. */
const OID_DER: Readonly<Record<MlDsaLevel, Buffer>> = {
  44: Buffer.from('0609608648016503040311', 'hex'),
  65: Buffer.from('0609608648016503040312', 'hex'),
  87: Buffer.from('0609608648016503040313', 'hex'),
};

/** μ is 64 bytes (FIPS 204: CRH output length). */
export const MU_LENGTH = 64;
const SEED_LENGTH = 32;

/** A parsed ML-DSA private key inside the HSM. `secretKey` is zeroed by `disposeMlDsaKey`. */
export interface MlDsaPrivateKey {
  readonly kind: 'ml-dsa';
  readonly level: MlDsaLevel;
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

// ---------------------------------------------------------------- DER helpers

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** Read one TLV at `offset`: its tag, content and where the next one starts (DER, ≤ 2 length bytes). */
function readTlv(der: Buffer, offset: number): { tag: number; content: Buffer; end: number } {
  const tag = der[offset];
  let len = der[offset + 1];
  let start = offset + 2;
  if (tag === undefined || len === undefined) throw new Error('truncated DER');
  if (len === 0x81) {
    len = der[start] ?? 0;
    if (len < 0x80) throw new Error('non-minimal DER length');
    start += 1;
  } else if (len === 0x82) {
    len = ((der[start] ?? 0) << 8) | (der[start + 1] ?? 0);
    if (len < 0x100) throw new Error('non-minimal DER length');
    start += 2;
  } else if (len >= 0x80) {
    throw new Error('unsupported DER length');
  }
  const end = start + len;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, content: der.subarray(start, end), end };
}

function algorithmIdentifier(level: MlDsaLevel): Buffer {
  // RFC 9881: the parameters field MUST be absent.
  return tlv(0x30, OID_DER[level]);
}

/** The parameter set named by an AlgorithmIdentifier, or undefined when it is not ML-DSA. */
function levelOfAlgorithm(algId: Buffer): MlDsaLevel | undefined {
  for (const level of [44, 65, 87] as const) {
    if (algId.equals(algorithmIdentifier(level))) return level;
  }
  return undefined;
}

// ---------------------------------------------------------------- keys

/** DER SubjectPublicKeyInfo of a raw ML-DSA public key. */
export function mlDsaSpki(level: MlDsaLevel, publicKey: Uint8Array): Buffer {
  return tlv(0x30, algorithmIdentifier(level), tlv(0x03, Buffer.from([0]), Buffer.from(publicKey)));
}

/** The parameter set and raw public key of an ML-DSA SPKI, or undefined for any other SPKI. */
export function parseMlDsaSpki(der: Buffer): { level: MlDsaLevel; publicKey: Buffer } | undefined {
  try {
    const outer = readTlv(der, 0);
    if (outer.tag !== 0x30 || outer.end !== der.length) return undefined;
    const alg = readTlv(outer.content, 0);
    const level = levelOfAlgorithm(outer.content.subarray(0, alg.end));
    if (level === undefined) return undefined;
    const bits = readTlv(outer.content, alg.end);
    if (bits.tag !== 0x03 || bits.end !== outer.content.length || bits.content[0] !== 0) {
      return undefined;
    }
    const publicKey = bits.content.subarray(1);
    if (publicKey.length !== ALGORITHMS[level].lengths.publicKey) return undefined;
    return { level, publicKey };
  } catch {
    return undefined;
  }
}

/** DER PKCS #8 (seed form) of a 32-byte ML-DSA seed. */
export function mlDsaPkcs8(level: MlDsaLevel, seed: Uint8Array): Buffer {
  return tlv(
    0x30,
    Buffer.from([0x02, 0x01, 0x00]),
    algorithmIdentifier(level),
    tlv(0x04, tlv(0x80, Buffer.from(seed))),
  );
}

/**
 * The parameter set and seed of an ML-DSA PKCS #8 private key; undefined when the DER is not
 * an ML-DSA key at all, an Error when it is one but malformed (or the "both" form disagrees).
 * The returned seed is a copy; the caller zeroes it.
 */
export function parseMlDsaPkcs8(der: Buffer): { level: MlDsaLevel; seed: Buffer } | undefined {
  let outer, version, alg;
  try {
    outer = readTlv(der, 0);
    version = readTlv(outer.content, 0);
    alg = readTlv(outer.content, version.end);
  } catch {
    return undefined;
  }
  const level = levelOfAlgorithm(outer.content.subarray(version.end, alg.end));
  if (level === undefined) return undefined;
  const bad = new Error('malformed ML-DSA private key');
  if (outer.tag !== 0x30 || outer.end !== der.length) throw bad;
  if (version.tag !== 0x02 || version.content.length !== 1 || version.content[0] !== 0) throw bad;
  const octets = readTlv(outer.content, alg.end);
  // A trailing [1] publicKey or attributes are not part of the RFC 9881 profile: refuse them.
  if (octets.tag !== 0x04 || octets.end !== outer.content.length) throw bad;
  const choice = readTlv(octets.content, 0);
  if (choice.end !== octets.content.length) throw bad;
  if (choice.tag === 0x80) {
    if (choice.content.length !== SEED_LENGTH) throw bad;
    return { level, seed: Buffer.from(choice.content) };
  }
  if (choice.tag === 0x30) {
    // both ::= SEQUENCE { seed OCTET STRING (32), expandedKey OCTET STRING }
    const seed = readTlv(choice.content, 0);
    const expanded = readTlv(choice.content, seed.end);
    if (seed.tag !== 0x04 || expanded.tag !== 0x04 || expanded.end !== choice.content.length) {
      throw bad;
    }
    if (seed.content.length !== SEED_LENGTH) throw bad;
    const derived = ALGORITHMS[level].keygen(seed.content).secretKey;
    const same = Buffer.from(derived).equals(expanded.content);
    derived.fill(0);
    if (!same) throw bad;
    return { level, seed: Buffer.from(seed.content) };
  }
  // expandedKey only: the seed cannot be recovered from it, and AWS imports seeds.
  throw bad;
}

/** A fresh key pair: PKCS #8 (seed form; the caller zeroes it) and SPKI. */
export function generateMlDsaKeyPair(
  level: MlDsaLevel,
  seed: Buffer,
): { privateKey: Buffer; publicKey: Buffer } {
  const { secretKey, publicKey } = ALGORITHMS[level].keygen(seed);
  secretKey.fill(0);
  return { privateKey: mlDsaPkcs8(level, seed), publicKey: mlDsaSpki(level, publicKey) };
}

/** Expand a seed into the key used for signing (FIPS 204 ML-DSA.KeyGen_internal). */
export function mlDsaPrivateKey(level: MlDsaLevel, seed: Uint8Array): MlDsaPrivateKey {
  const { secretKey, publicKey } = ALGORITHMS[level].keygen(seed);
  return { kind: 'ml-dsa', level, secretKey, publicKey };
}

export function disposeMlDsaKey(key: MlDsaPrivateKey): void {
  key.secretKey.fill(0);
}

export function mlDsaPublicKeyFromSeed(level: MlDsaLevel, seed: Uint8Array): Buffer {
  const k = mlDsaPrivateKey(level, seed);
  try {
    return mlDsaSpki(level, k.publicKey);
  } finally {
    disposeMlDsaKey(k);
  }
}

// ---------------------------------------------------------------- sign / verify

/**
 * Sign a message (RAW) or a μ (EXTERNAL_MU) with the expanded secret key. `rnd` is for
 * known-answer tests only (32 zero bytes = FIPS 204's deterministic variant); without it each
 * signature is hedged with fresh randomness.
 */
export function mlDsaSign(
  level: MlDsaLevel,
  secretKey: Uint8Array,
  message: Uint8Array,
  input: MlDsaInput,
  rnd?: Uint8Array,
): Buffer {
  const alg = ALGORITHMS[level];
  const opts = rnd === undefined ? {} : { extraEntropy: rnd };
  if (input === 'EXTERNAL_MU') {
    if (message.length !== MU_LENGTH) throw new Error('mu must be 64 bytes');
    return Buffer.from(alg.internal.sign(message, secretKey, { ...opts, externalMu: true }));
  }
  return Buffer.from(alg.sign(message, secretKey, opts));
}

/** Verify; any malformed input is simply "not valid". */
export function mlDsaVerify(
  level: MlDsaLevel,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  input: MlDsaInput,
): boolean {
  const alg = ALGORITHMS[level];
  try {
    if (signature.length !== alg.lengths.signature) return false;
    if (input === 'EXTERNAL_MU') {
      if (message.length !== MU_LENGTH) return false;
      return alg.internal.verify(signature, message, publicKey, { externalMu: true });
    }
    return alg.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
