/**
 * Key spec × usage × algorithm, described once as tables (not branches). The spec table
 * itself lives in kms/key-spec-table.ts (no imports: the web console reads it too); this
 * module adds what only the server needs: how each algorithm signs, encrypts and MACs.
 */
import type { KeyPairParams, MacHash, SignatureScheme } from '../../hsm/hsm.js';
import { KEY_SPECS, type KeyPairSpecParams, type KeySpecInfo } from '../key-spec-table.js';

export {
  algorithmsFor,
  allowsUsage,
  KEY_SPECS,
  KEY_USAGES,
  USAGE_ALGORITHM_FIELD,
  type KeyKind,
  type KeySpecInfo,
  type KeyUsage,
} from '../key-spec-table.js';

// The table restates the HSM's KeyPairParams without importing it: keep the two equal.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const keyPairParamsMatch: Same<KeyPairSpecParams, KeyPairParams> = true;
void keyPairParamsMatch;

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

/** Key type as UpdateAlias compares it: symmetric encryption, HMAC, or asymmetric. */
export function keyType(spec: string): 'SYMMETRIC' | 'HMAC' | 'ASYMMETRIC' {
  if (spec === 'SYMMETRIC_DEFAULT') return 'SYMMETRIC';
  return spec.startsWith('HMAC_') ? 'HMAC' : 'ASYMMETRIC';
}
