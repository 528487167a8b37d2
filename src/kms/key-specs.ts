/**
 * Key spec × usage × algorithm, described once as tables (not branches).
 *
 * Sources: the model's CreateKey KeyUsage / KeySpec docs (reference 02 Part A "CreateKey"),
 * the enums at the end of reference 02, and the developer guide's key spec reference.
 * `algorithms` maps each KeyUsage the spec allows to the algorithms that usage offers, so
 * the allowed usages are exactly its keys. Unsupported specs stay in the table so that
 * CreateKey refuses them by name (UnsupportedOperationException).
 */
import type { KeyPairParams, MacHash, SignatureScheme } from '../hsm/hsm.js';

export const KEY_USAGES = [
  'ENCRYPT_DECRYPT',
  'SIGN_VERIFY',
  'GENERATE_VERIFY_MAC',
  'KEY_AGREEMENT',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

/** The KeyMetadata / GetPublicKey member that lists a usage's algorithms. */
export const USAGE_ALGORITHM_FIELD = {
  ENCRYPT_DECRYPT: 'EncryptionAlgorithms',
  SIGN_VERIFY: 'SigningAlgorithms',
  GENERATE_VERIFY_MAC: 'MacAlgorithms',
  KEY_AGREEMENT: 'KeyAgreementAlgorithms',
} as const;

export type KeyKind = 'SYMMETRIC' | 'HMAC' | 'RSA' | 'EC' | 'ED25519' | 'ML_DSA' | 'SM2';

export interface KeySpecInfo {
  kind: KeyKind;
  /** KeyUsage → algorithms of that usage (the usages this spec allows are its keys). */
  algorithms: Readonly<Partial<Record<KeyUsage, readonly string[]>>>;
  /** How the HSM generates the key pair (asymmetric specs this build supports). */
  keyPair?: KeyPairParams;
  /** RSA modulus size in bytes (OAEP plaintext limits). */
  modulusBytes?: number;
  /** HMAC key length in bytes (AWS: HMAC_224 → 224-bit key, ... HMAC_512 → 512-bit key). */
  hmacKeyBytes?: number;
  /** Whether this build can create keys of this spec. */
  supported: boolean;
  /** Why not, when `supported` is false (CreateKey's error message, docs/operations.md). */
  unsupportedReason?: string;
}

const RSA_SIGNING = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
] as const;
const RSA_ENCRYPTION = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;

function rsa(bits: number): KeySpecInfo {
  return {
    kind: 'RSA',
    algorithms: { ENCRYPT_DECRYPT: RSA_ENCRYPTION, SIGN_VERIFY: RSA_SIGNING },
    keyPair: { type: 'rsa', modulusBits: bits },
    modulusBytes: bits / 8,
    supported: true,
  };
}

function nistEc(curve: string, signing: string): KeySpecInfo {
  return {
    kind: 'EC',
    algorithms: { SIGN_VERIFY: [signing], KEY_AGREEMENT: ['ECDH'] },
    keyPair: { type: 'ec', namedCurve: curve },
    supported: true,
  };
}

function hmac(bits: number): KeySpecInfo {
  return {
    kind: 'HMAC',
    algorithms: { GENERATE_VERIFY_MAC: [`HMAC_SHA_${bits}`] },
    hmacKeyBytes: bits / 8,
    supported: true,
  };
}

// ML-DSA (FIPS 204): Node 20's crypto (OpenSSL 3.0) has none, so hsm/ml-dsa.ts uses
// @noble/post-quantum. SIGN_VERIFY only (model, CreateKey KeyUsage).
function mlDsa(level: 44 | 65 | 87): KeySpecInfo {
  return {
    kind: 'ML_DSA',
    algorithms: { SIGN_VERIFY: ['ML_DSA_SHAKE_256'] },
    keyPair: { type: 'ml-dsa', level },
    supported: true,
  };
}

export const KEY_SPECS: Readonly<Record<string, KeySpecInfo>> = {
  SYMMETRIC_DEFAULT: {
    kind: 'SYMMETRIC',
    algorithms: { ENCRYPT_DECRYPT: ['SYMMETRIC_DEFAULT'] },
    supported: true,
  },
  HMAC_224: hmac(224),
  HMAC_256: hmac(256),
  HMAC_384: hmac(384),
  HMAC_512: hmac(512),
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  ECC_NIST_P256: nistEc('prime256v1', 'ECDSA_SHA_256'),
  ECC_NIST_P384: nistEc('secp384r1', 'ECDSA_SHA_384'),
  ECC_NIST_P521: nistEc('secp521r1', 'ECDSA_SHA_512'),
  // The model: "For asymmetric KMS keys with ECC_SECG_P256K1 key pairs, specify SIGN_VERIFY."
  ECC_SECG_P256K1: {
    kind: 'EC',
    algorithms: { SIGN_VERIFY: ['ECDSA_SHA_256'] },
    keyPair: { type: 'ec', namedCurve: 'secp256k1' },
    supported: true,
  },
  // "ECC_NIST_EDWARDS25519 (ed25519) - signing and verification only".
  ECC_NIST_EDWARDS25519: {
    kind: 'ED25519',
    algorithms: { SIGN_VERIFY: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] },
    keyPair: { type: 'ed25519' },
    supported: true,
  },
  ML_DSA_44: mlDsa(44),
  ML_DSA_65: mlDsa(65),
  ML_DSA_87: mlDsa(87),
  // SM2 exists only in AWS China Regions, and Node's crypto cannot sign (SM2DSA with the
  // distinguishing ID) or encrypt (SM2PKE) with it.
  SM2: {
    kind: 'SM2',
    algorithms: {
      ENCRYPT_DECRYPT: ['SM2PKE'],
      SIGN_VERIFY: ['SM2DSA'],
      KEY_AGREEMENT: ['ECDH'],
    },
    supported: false,
    unsupportedReason: 'SM2 is available only in AWS China Regions.',
  },
};

/**
 * SigningAlgorithmSpec → how it signs. `digestLength` is what MessageType DIGEST (or
 * EXTERNAL_MU: the 64-byte μ) must match.
 */
export interface SigningAlgorithmInfo {
  scheme?: SignatureScheme;
  digestLength: number;
  /**
   * MessageTypes the algorithm accepts (model, Sign MessageType): Ed25519 RAW only, Ed25519ph
   * DIGEST only, ML-DSA RAW or EXTERNAL_MU.
   */
  messageTypes: readonly string[];
  supported: boolean;
  unsupportedReason?: string;
}

function sig(
  family: 'RSA_PSS' | 'RSA_PKCS1' | 'ECDSA',
  hash: 'sha256' | 'sha384' | 'sha512',
  digestLength: number,
): SigningAlgorithmInfo {
  return {
    scheme: { family, hash },
    digestLength,
    messageTypes: ['RAW', 'DIGEST'],
    supported: true,
  };
}

export const SIGNING_ALGORITHMS: Readonly<Record<string, SigningAlgorithmInfo>> = {
  // RSASSA-PSS uses MGF1 with the same hash and a salt as long as the hash (AWS).
  RSASSA_PSS_SHA_256: sig('RSA_PSS', 'sha256', 32),
  RSASSA_PSS_SHA_384: sig('RSA_PSS', 'sha384', 48),
  RSASSA_PSS_SHA_512: sig('RSA_PSS', 'sha512', 64),
  RSASSA_PKCS1_V1_5_SHA_256: sig('RSA_PKCS1', 'sha256', 32),
  RSASSA_PKCS1_V1_5_SHA_384: sig('RSA_PKCS1', 'sha384', 48),
  RSASSA_PKCS1_V1_5_SHA_512: sig('RSA_PKCS1', 'sha512', 64),
  ECDSA_SHA_256: sig('ECDSA', 'sha256', 32),
  ECDSA_SHA_384: sig('ECDSA', 'sha384', 48),
  ECDSA_SHA_512: sig('ECDSA', 'sha512', 64),
  ED25519_SHA_512: {
    scheme: { family: 'ED25519', hash: 'sha512' },
    digestLength: 64,
    messageTypes: ['RAW'],
    supported: true,
  },
  // HashEdDSA (RFC 8032 Ed25519ph, empty context). Node 20's OpenSSL 3.0 lacks it, so
  // @noble/curves signs; the caller's 64-byte digest is prehashed again (AWS documents this).
  ED25519_PH_SHA_512: {
    scheme: { family: 'ED25519_PH', hash: 'sha512' },
    digestLength: 64,
    messageTypes: ['DIGEST'],
    supported: true,
  },
  ML_DSA_SHAKE_256: {
    scheme: { family: 'ML_DSA', hash: 'shake256' },
    digestLength: 64,
    messageTypes: ['RAW', 'EXTERNAL_MU'],
    supported: true,
  },
  SM2DSA: { digestLength: 32, messageTypes: ['RAW', 'DIGEST'], supported: false },
};

/** EncryptionAlgorithmSpec (asymmetric) → OAEP hash and its length. */
export const RSA_ENCRYPTION_ALGORITHMS: Readonly<
  Record<string, { hash: 'sha1' | 'sha256'; hashLength: number }>
> = {
  RSAES_OAEP_SHA_1: { hash: 'sha1', hashLength: 20 },
  RSAES_OAEP_SHA_256: { hash: 'sha256', hashLength: 32 },
};

/** Largest plaintext RSAES-OAEP takes: k − 2·hLen − 2 (RFC 8017 §7.1.1; AWS's 214/190, 342/318, 470/446). */
export function oaepPlaintextLimit(modulusBytes: number, algorithm: string): number {
  const a = RSA_ENCRYPTION_ALGORITHMS[algorithm];
  if (a === undefined) throw new Error(`not an RSA encryption algorithm: ${algorithm}`);
  return modulusBytes - 2 * a.hashLength - 2;
}

export const MAC_ALGORITHMS: Readonly<Record<string, MacHash>> = {
  HMAC_SHA_224: 'sha224',
  HMAC_SHA_256: 'sha256',
  HMAC_SHA_384: 'sha384',
  HMAC_SHA_512: 'sha512',
};

/**
 * DataKeyPairSpec → the key spec whose pair it generates. The usage rules of KMS keys do not
 * apply to data key pairs (model, GenerateDataKeyPair KeyPairSpec).
 */
export const DATA_KEY_PAIR_SPECS: Readonly<Record<string, string>> = {
  RSA_2048: 'RSA_2048',
  RSA_3072: 'RSA_3072',
  RSA_4096: 'RSA_4096',
  ECC_NIST_P256: 'ECC_NIST_P256',
  ECC_NIST_P384: 'ECC_NIST_P384',
  ECC_NIST_P521: 'ECC_NIST_P521',
  ECC_SECG_P256K1: 'ECC_SECG_P256K1',
  ECC_NIST_EDWARDS25519: 'ECC_NIST_EDWARDS25519',
  SM2: 'SM2',
};

/** The usage a spec gets when CreateKey names none (AWS: ENCRYPT_DECRYPT, the model default). */
export const DEFAULT_KEY_USAGE = 'ENCRYPT_DECRYPT';

export function keySpecInfo(spec: string): KeySpecInfo | undefined {
  return KEY_SPECS[spec];
}

/** The algorithms a key of `spec` offers for `usage` (empty when the usage is not allowed). */
export function algorithmsFor(spec: string, usage: string): readonly string[] {
  return KEY_SPECS[spec]?.algorithms[usage as KeyUsage] ?? [];
}

/** Whether `spec` allows `usage`. */
export function allowsUsage(spec: string, usage: string): boolean {
  const info = KEY_SPECS[spec];
  return info !== undefined && Object.hasOwn(info.algorithms, usage);
}

/** Key type as UpdateAlias compares it: symmetric encryption, HMAC, or asymmetric. */
export function keyType(spec: string): 'SYMMETRIC' | 'HMAC' | 'ASYMMETRIC' {
  if (spec === 'SYMMETRIC_DEFAULT') return 'SYMMETRIC';
  return spec.startsWith('HMAC_') ? 'HMAC' : 'ASYMMETRIC';
}
