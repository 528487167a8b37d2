/**
 * The order in which AWS lists an enum's values in "Member must satisfy enum value set: [...]".
 * AWS prints its own service model's order, which is not always botocore's: botocore appends
 * newer values (ECC_NIST_EDWARDS25519, ED25519_*) at the end, and a few enums come out in an
 * order of AWS's own. Recorded from real KMS answers in public test fixtures (LocalStack
 * snapshots, floci's measured tests); enums without an entry print in the model's order.
 */
const AWS_KEY_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519',
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
];

const AWS_ENUM_ORDER: Readonly<Record<string, readonly string[]>> = {
  KeySpec: AWS_KEY_SPECS,
  // GenerateDataKey's KeySpec accepts AES_256 / AES_128 only, yet AWS's message lists the
  // KMS key specs (recorded for GenerateDataKey and GenerateDataKeyWithoutPlaintext).
  DataKeySpec: AWS_KEY_SPECS,
  // Inferred from KeySpec: Ed25519 after secp256k1, SM2 last.
  DataKeyPairSpec: [
    'RSA_2048',
    'RSA_3072',
    'RSA_4096',
    'ECC_NIST_P256',
    'ECC_NIST_P384',
    'ECC_NIST_P521',
    'ECC_SECG_P256K1',
    'ECC_NIST_EDWARDS25519',
    'SM2',
  ],
  SigningAlgorithmSpec: [
    'RSASSA_PSS_SHA_256',
    'RSASSA_PSS_SHA_384',
    'RSASSA_PSS_SHA_512',
    'RSASSA_PKCS1_V1_5_SHA_256',
    'RSASSA_PKCS1_V1_5_SHA_384',
    'RSASSA_PKCS1_V1_5_SHA_512',
    'ECDSA_SHA_256',
    'ECDSA_SHA_384',
    'ECDSA_SHA_512',
    'ED25519_SHA_512',
    'ED25519_PH_SHA_512',
    'SM2DSA',
    'ML_DSA_SHAKE_256',
  ],
  MacAlgorithmSpec: ['HMAC_SHA_384', 'HMAC_SHA_256', 'HMAC_SHA_224', 'HMAC_SHA_512'],
  EncryptionAlgorithmSpec: [
    'RSAES_OAEP_SHA_1',
    'RSAES_OAEP_SHA_256',
    'SM2PKE',
    'SYMMETRIC_DEFAULT',
  ],
  // Recorded as [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC] before KEY_AGREEMENT
  // existed; the newer value follows, as newer values do in AWS's KeySpec list.
  KeyUsageType: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'],
};

/** The values of enum shape `shape` in the order AWS's messages list them. */
export function awsEnumOrder(shape: string, modelEnum: readonly string[]): readonly string[] {
  return AWS_ENUM_ORDER[shape] ?? modelEnum;
}

/** For a test: every override holds the model's values (DataKeySpec: the KMS key specs). */
export const ENUM_ORDER_OVERRIDES: Readonly<Record<string, readonly string[]>> = AWS_ENUM_ORDER;
