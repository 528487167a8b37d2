/**
 * The key spec table: spec × usage × algorithms, and the alias name rules. Plain data with
 * no imports, so that the server (keys/key-specs.ts, keys/aliases.ts) and the web console (web/src)
 * read the very same table and cannot drift apart.
 *
 * Sources: the model's CreateKey KeyUsage / KeySpec docs (model/kms-service-2.json),
 * the enums of the same model, and the developer guide's key spec reference.
 * `algorithms` maps each KeyUsage the spec allows to the algorithms that usage offers, so
 * the allowed usages are exactly its keys. Unsupported specs stay in the table so that
 * CreateKey refuses them by name (UnsupportedOperationException).
 */

/** How to generate an asymmetric key pair (the HSM's KeyPairParams, restated without imports). */
export type KeyPairSpecParams =
  | { type: 'rsa'; modulusBits: number }
  | { type: 'ec'; namedCurve: string }
  | { type: 'ed25519' }
  | { type: 'ml-dsa'; level: 44 | 65 | 87 };

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
  keyPair?: KeyPairSpecParams;
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

/** The algorithms a key of `spec` offers for `usage` (empty when the usage is not allowed). */
export function algorithmsFor(spec: string, usage: string): readonly string[] {
  return KEY_SPECS[spec]?.algorithms[usage as KeyUsage] ?? [];
}

/** Whether `spec` allows `usage`. */
export function allowsUsage(spec: string, usage: string): boolean {
  const info = KEY_SPECS[spec];
  return info !== undefined && Object.hasOwn(info.algorithms, usage);
}

/** The console's key types, in the AWS console's order: the usage and the words it shows. */
export const KEY_USAGE_LABELS: Readonly<Record<KeyUsage, string>> = {
  ENCRYPT_DECRYPT: 'Encrypt and decrypt',
  SIGN_VERIFY: 'Sign and verify',
  GENERATE_VERIFY_MAC: 'Generate and verify MAC',
  KEY_AGREEMENT: 'Key agreement',
};

/** The specs a key of this type (symmetric: SYMMETRIC_DEFAULT and HMAC) and usage can have, that this build creates. */
export function specsForUsage(usage: KeyUsage, symmetric: boolean): string[] {
  return Object.entries(KEY_SPECS)
    .filter(
      ([spec, info]) =>
        info.supported &&
        Object.hasOwn(info.algorithms, usage) &&
        (spec === 'SYMMETRIC_DEFAULT' || info.kind === 'HMAC') === symmetric,
    )
    .map(([spec]) => spec);
}

/**
 * Alias names (CreateAlias / UpdateAlias / DeleteAlias): the model's AliasNameType (1–256
 * characters) without the ':' its pattern admits (AWS refuses it), the `alias/` prefix, and
 * `alias/aws/` reserved for AWS managed keys.
 */
export const ALIAS_NAME = {
  prefix: 'alias/',
  reservedPrefix: 'alias/aws/',
  maxLength: 256,
  pattern: /^[a-zA-Z0-9/_-]+$/,
} as const;

/** Why `name` (with its prefix) is not a usable alias name, or undefined when it is. */
export function aliasNameProblem(name: string): string | undefined {
  if (!name.startsWith(ALIAS_NAME.prefix) || name.length === ALIAS_NAME.prefix.length)
    return 'An alias name starts with "alias/" followed by the name.';
  if (name.length > ALIAS_NAME.maxLength)
    return `An alias name is at most ${ALIAS_NAME.maxLength} characters, "alias/" included.`;
  if (!ALIAS_NAME.pattern.test(name))
    return 'An alias name may use letters, digits, slashes (/), underscores (_) and dashes (-) only.';
  if (name.startsWith(ALIAS_NAME.reservedPrefix))
    return 'Aliases beginning with alias/aws/ are reserved for AWS managed keys.';
  return undefined;
}
