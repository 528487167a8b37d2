/**
 * Asymmetric primitives on Node's crypto, for the software HSM (private-key operations) and
 * for public-key operations anyone may do (Verify, encryption with an RSA public key).
 *
 * MessageType RAW uses crypto.sign / crypto.verify directly. MessageType DIGEST (the caller
 * hashed the message) has no Node API, so it is built from primitives Node does have:
 *  - RSASSA-PKCS1-v1_5: privateEncrypt with PKCS#1 type-1 padding over DigestInfo || digest;
 *  - RSASSA-PSS: EMSA-PSS-ENCODE (RFC 8017 §9.1.1, salt = hash length, MGF1 with the same
 *    hash) then the raw RSA private operation (RSA_NO_PADDING);
 *  - ECDSA: @noble/curves (audited) signs and verifies the digest; see below.
 * Ed25519ph (HashEdDSA) is not in Node 20's crypto (OpenSSL 3.0): @noble/curves' ed25519ph.
 * ML-DSA keys are not KeyObjects at all (ml-dsa.ts).
 * Signatures made either way are identical in form, and the tests cross-check them against
 * crypto.verify and `openssl`.
 */
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPair,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { KeyPairParams, PlainKeyPair, SignatureScheme, SignInput } from './hsm.js';
import {
  generateMlDsaKeyPair,
  mlDsaSign,
  mlDsaVerify,
  parseMlDsaSpki,
  type MlDsaPrivateKey,
} from './ml-dsa.js';

/** A private key inside the HSM: a Node KeyObject, or an expanded ML-DSA key. */
export type HsmPrivateKey = KeyObject | MlDsaPrivateKey;

function isMlDsa(key: HsmPrivateKey): key is MlDsaPrivateKey {
  return (key as Partial<MlDsaPrivateKey>).kind === 'ml-dsa';
}

/** The KeyObject of a non-ML-DSA private key (RSA decryption, ECDH). */
export function keyObjectOf(key: HsmPrivateKey): KeyObject {
  if (isMlDsa(key)) throw new Error('not a KeyObject key');
  return key;
}

const HASH_LENGTH = { sha256: 32, sha384: 48, sha512: 64 } as const;
type ShaHash = keyof typeof HASH_LENGTH;

/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1). */
const DIGEST_INFO = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
} as const;

/** Generate a key pair off the event loop: PKCS#8 DER private key, DER SPKI public key. */
export function generateKeyPairDer(params: KeyPairParams): Promise<PlainKeyPair> {
  const enc = {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  } as const;
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: Buffer, privateKey: Buffer) => {
      if (err !== null) reject(err);
      else resolve({ privateKey, publicKey });
    };
    switch (params.type) {
      case 'rsa':
        generateKeyPair('rsa', { modulusLength: params.modulusBits, ...enc }, done);
        break;
      case 'ec':
        generateKeyPair('ec', { namedCurve: params.namedCurve, ...enc }, done);
        break;
      case 'ed25519':
        generateKeyPair('ed25519', enc, done);
        break;
      case 'ml-dsa': {
        const seed = randomBytes(32);
        try {
          resolve(generateMlDsaKeyPair(params.level, seed));
        } catch (err) {
          reject(err as Error);
        } finally {
          seed.fill(0);
        }
        break;
      }
    }
  });
}

/** Parsed public keys by their DER (public data; parsing an RSA key costs more than verifying). */
const publicKeys = new Map<string, KeyObject>();

export function publicKeyFromDer(der: Buffer): KeyObject {
  const id = der.toString('base64');
  let key = publicKeys.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    if (publicKeys.size >= 1024) publicKeys.clear();
    publicKeys.set(id, key);
  }
  return key;
}

// ---------------------------------------------------------------- signing

/** Sign with a private key: RAW (hash inside), DIGEST (already hashed) or EXTERNAL_MU (ML-DSA μ). */
export function signWith(
  privateKey: HsmPrivateKey,
  message: Buffer,
  scheme: SignatureScheme,
  input: SignInput,
): Buffer {
  if (scheme.family === 'ML_DSA') {
    if (!isMlDsa(privateKey) || input === 'DIGEST') throw new Error('not an ML-DSA signature');
    return mlDsaSign(privateKey.level, privateKey.secretKey, message, input);
  }
  const key = keyObjectOf(privateKey);
  if (input === 'EXTERNAL_MU') throw new Error('EXTERNAL_MU is for ML-DSA only');
  if (scheme.family === 'ED25519_PH') return ed25519phSign(key, message);
  if (input === 'RAW') {
    if (scheme.family === 'ED25519') return sign(null, message, key);
    return sign(scheme.hash, message, { key, ...rsaOptions(scheme), dsaEncoding: 'der' });
  }
  switch (scheme.family) {
    case 'RSA_PKCS1':
      return privateEncrypt(
        { key, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([DIGEST_INFO[scheme.hash], message]),
      );
    case 'RSA_PSS': {
      const bits = modulusBits(key);
      const em = emsaPssEncode(message, scheme.hash, bits - 1);
      return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, leftPad(em, bits));
    }
    case 'ECDSA':
      return ecdsaSignDigest(key, message);
    case 'ED25519':
      throw new Error('Ed25519 signs RAW messages only');
  }
}

/** Verify with a DER SPKI public key (ML-DSA or any key Node parses). Malformed → not valid. */
export function verifyWithSpki(
  publicKeyDer: Buffer,
  message: Buffer,
  signature: Buffer,
  scheme: SignatureScheme,
  input: SignInput,
): boolean {
  if (scheme.family === 'ML_DSA') {
    const pub = parseMlDsaSpki(publicKeyDer);
    if (pub === undefined || input === 'DIGEST') return false;
    return mlDsaVerify(pub.level, pub.publicKey, message, signature, input);
  }
  return verifyWith(publicKeyFromDer(publicKeyDer), message, signature, scheme, input);
}

/** Verify with a public key. Any malformed input is simply "not valid". */
export function verifyWith(
  key: KeyObject,
  message: Buffer,
  signature: Buffer,
  scheme: SignatureScheme,
  input: SignInput,
): boolean {
  try {
    if (scheme.family === 'ML_DSA' || input === 'EXTERNAL_MU') return false;
    if (scheme.family === 'ED25519_PH') return ed25519phVerify(key, message, signature);
    if (input === 'RAW') {
      if (scheme.family === 'ED25519') return verify(null, message, key, signature);
      return verify(
        scheme.hash,
        message,
        { key, ...rsaOptions(scheme), dsaEncoding: 'der' },
        signature,
      );
    }
    switch (scheme.family) {
      case 'RSA_PKCS1': {
        // As OpenSSL's RSA_verify: a signature is exactly k bytes (publicDecrypt would take a
        // shorter one with the same integer value, e.g. one whose leading zero byte was cut).
        if (signature.length !== Math.ceil(modulusBits(key) / 8)) return false;
        const got = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
        const want = Buffer.concat([DIGEST_INFO[scheme.hash], message]);
        return got.length === want.length && timingSafeEqual(got, want);
      }
      case 'RSA_PSS': {
        const bits = modulusBits(key);
        if (signature.length !== Math.ceil(bits / 8)) return false;
        const m = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
        return emsaPssVerify(message, m, scheme.hash, bits - 1);
      }
      case 'ECDSA':
        return ecdsaVerifyDigest(key, message, signature);
      case 'ED25519':
        return false;
    }
  } catch {
    return false;
  }
}

function rsaOptions(scheme: SignatureScheme): { padding?: number; saltLength?: number } {
  if (scheme.family === 'RSA_PSS') {
    return { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_LENGTH[scheme.hash] };
  }
  if (scheme.family === 'RSA_PKCS1') return { padding: constants.RSA_PKCS1_PADDING };
  return {};
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new Error('not an RSA key');
  return bits;
}

function leftPad(em: Buffer, modBits: number): Buffer {
  const k = Math.ceil(modBits / 8);
  return em.length === k ? em : Buffer.concat([Buffer.alloc(k - em.length), em]);
}

// ---------------------------------------------------------------- EMSA-PSS (RFC 8017 §9.1)

function mgf1(seed: Buffer, length: number, hash: string): Buffer {
  const out: Buffer[] = [];
  let have = 0;
  for (let i = 0; have < length; i++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(i);
    const block = createHash(hash).update(seed).update(c).digest();
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function emsaPssEncode(mHash: Buffer, hash: ShaHash, emBits: number): Buffer {
  const hLen = HASH_LENGTH[hash];
  const sLen = hLen;
  const emLen = Math.ceil(emBits / 8);
  if (mHash.length !== hLen || emLen < hLen + sLen + 2) throw new Error('PSS encoding error');
  const salt = randomBytes(sLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - sLen - hLen - 2] = 0x01;
  salt.copy(db, db.length - sLen);
  const mask = mgf1(h, db.length, hash);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

function emsaPssVerify(mHash: Buffer, m: Buffer, hash: ShaHash, emBits: number): boolean {
  const hLen = HASH_LENGTH[hash];
  const sLen = hLen;
  const emLen = Math.ceil(emBits / 8);
  if (mHash.length !== hLen || emLen < hLen + sLen + 2) return false;
  // The integer m < 2^emBits: any leading byte beyond emLen must be zero.
  for (let i = 0; i < m.length - emLen; i++) if (m[i] !== 0) return false;
  const em = m.subarray(m.length - emLen);
  if (em[emLen - 1] !== 0xbc) return false;
  const masked = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if (((masked[0] as number) & ~topMask & 0xff) !== 0) return false;
  const mask = mgf1(h, masked.length, hash);
  const db = Buffer.alloc(masked.length);
  for (let i = 0; i < db.length; i++) db[i] = (masked[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & topMask;
  const ps = emLen - hLen - sLen - 2;
  for (let i = 0; i < ps; i++) if (db[i] !== 0) return false;
  if (db[ps] !== 0x01) return false;
  const salt = db.subarray(db.length - sLen);
  const h2 = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(h, h2);
}

// ---------------------------------------------------------------- ECDSA over a digest

/**
 * Node's crypto cannot sign or verify a precomputed digest with ECDSA (it always hashes), so
 * DIGEST uses @noble/curves — audited, constant-time-minded, widely used — rather than
 * curve arithmetic of keyhold's own. `prehash: false` means "this is already the digest";
 * RFC 6979 deterministic nonces with added randomness; DER signatures as AWS returns.
 */
const NOBLE_CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521, secp256k1 } as const;

function nobleCurve(key: KeyObject): (typeof NOBLE_CURVES)[keyof typeof NOBLE_CURVES] {
  const name = key.asymmetricKeyDetails?.namedCurve as keyof typeof NOBLE_CURVES | undefined;
  const curve = name === undefined ? undefined : NOBLE_CURVES[name];
  if (curve === undefined) throw new Error('unsupported curve');
  return curve;
}

function ecdsaSignDigest(key: KeyObject, digest: Buffer): Buffer {
  const curve = nobleCurve(key);
  const d = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
  try {
    return Buffer.from(
      curve.sign(digest, d, { prehash: false, format: 'der', extraEntropy: true }),
    );
  } finally {
    d.fill(0);
  }
}

function ecdsaVerifyDigest(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const curve = nobleCurve(key);
  const jwk = key.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  // OpenSSL (RAW signing) does not normalize s, so high-s signatures are valid here too.
  return curve.verify(signature, digest, point, { prehash: false, format: 'der', lowS: false });
}

// ---------------------------------------------------------------- Ed25519ph (RFC 8032 §5.1)

/**
 * HashEdDSA with SHA-512 and the empty context. PH(M) = SHA-512(M) happens inside, also for
 * MessageType DIGEST: AWS documents that it still applies the FIPS 186-5 §7.8.1 step 1
 * prehash to the caller's 64-byte digest.
 */
function ed25519phSign(key: KeyObject, message: Buffer): Buffer {
  const seed = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
  try {
    return Buffer.from(ed25519ph.sign(message, seed));
  } finally {
    seed.fill(0);
  }
}

function ed25519phVerify(key: KeyObject, message: Buffer, signature: Buffer): boolean {
  if (key.asymmetricKeyType !== 'ed25519' || signature.length !== 64) return false;
  const point = Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
  return ed25519ph.verify(signature, message, point);
}

// ---------------------------------------------------------------- RSAES-OAEP (public half)

/** RSAES-OAEP encryption with a DER SPKI public key (MGF1 with the same hash, empty label). */
export function encryptOaep(
  publicKeyDer: Buffer,
  plaintext: Buffer,
  hash: 'sha1' | 'sha256',
): Buffer {
  return publicEncrypt(
    {
      key: publicKeyFromDer(publicKeyDer),
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: hash,
    },
    plaintext,
  );
}
