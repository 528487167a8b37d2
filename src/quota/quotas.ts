/**
 * Request quotas: AWS KMS's per-second request quotas, enforced per (account, Region,
 * quota) with a token bucket whose burst is one second of the rate. The table below is
 * the one place the quotas live; docs/operations.md ("Request quotas") explains it.
 *
 * Sources, in order of preference: the current "Request quotas" page of the AWS KMS
 * Developer Guide (requests-per-second.html: which operations share the symmetric
 * quota and its per-Region tiers), the archived Developer Guide table
 * (awsdocs/aws-kms-developer-guide, doc_source/requests-per-second.md) for the
 * per-operation values, and, for operations in neither (marked `keyhold`), the value of
 * the closest documented operation.
 */

/** A Service Quotas quota: the name AWS gives it, and its default requests per second. */
export interface Quota {
  readonly quota: string;
  readonly rps: number;
}

const SYMMETRIC = 'Cryptographic operations (symmetric) request rate';
const RSA = { quota: 'Cryptographic operations (RSA) request rate', rps: 500 } as const;
const ECC = { quota: 'Cryptographic operations (ECC) request rate', rps: 300 } as const;

/**
 * Shared cryptographic quota for symmetric keys (us-east-1 default). Its value varies by
 * Region; see `symmetricRps`. Per the current AWS page it applies to Decrypt, Encrypt,
 * GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateMac, GenerateRandom,
 * ReEncrypt and VerifyMac.
 */
const SYM = { quota: SYMMETRIC, rps: 100_000 } as const;

/** How an operation's quota depends on its (validated) input: the key type it names. */
export type Refinement = 'encryption' | 'reencryption' | 'signing' | 'keyPair';

const m = (op: string, rps: number): Quota => ({ quota: `${op} request rate`, rps });

/**
 * Every KMS operation → its quota. `refine` names operations whose quota depends on the
 * key type, read from the algorithm or spec the request names (see `quotaFor`).
 */
export const OPERATION_QUOTAS = {
  // Cryptographic operations: shared quotas.
  Decrypt: { ...SYM, refine: 'encryption' },
  Encrypt: { ...SYM, refine: 'encryption' },
  GenerateDataKey: SYM,
  GenerateDataKeyWithoutPlaintext: SYM,
  GenerateMac: SYM,
  GenerateRandom: SYM,
  ReEncrypt: { ...SYM, refine: 'reencryption' },
  VerifyMac: SYM,
  Sign: { ...RSA, refine: 'signing' },
  Verify: { ...RSA, refine: 'signing' },
  DeriveSharedSecret: ECC,
  GenerateDataKeyPair: { ...m('GenerateDataKeyPair (RSA_2048)', 1), refine: 'keyPair' },
  GenerateDataKeyPairWithoutPlaintext: {
    ...m('GenerateDataKeyPair (RSA_2048)', 1),
    refine: 'keyPair',
  },
  // Management operations: one quota each.
  CancelKeyDeletion: m('CancelKeyDeletion', 5),
  ConnectCustomKeyStore: m('ConnectCustomKeyStore', 5),
  CreateAlias: m('CreateAlias', 5),
  CreateCustomKeyStore: m('CreateCustomKeyStore', 5),
  CreateGrant: m('CreateGrant', 50),
  CreateKey: m('CreateKey', 5),
  DeleteAlias: m('DeleteAlias', 5),
  DeleteCustomKeyStore: m('DeleteCustomKeyStore', 5),
  DeleteImportedKeyMaterial: m('DeleteImportedKeyMaterial', 5),
  DescribeCustomKeyStores: m('DescribeCustomKeyStores', 5),
  DescribeKey: m('DescribeKey', 2000),
  DisableKey: m('DisableKey', 5),
  DisableKeyRotation: m('DisableKeyRotation', 5),
  DisconnectCustomKeyStore: m('DisconnectCustomKeyStore', 5),
  EnableKey: m('EnableKey', 5),
  EnableKeyRotation: m('EnableKeyRotation', 5),
  GetKeyLastUsage: m('GetKeyLastUsage', 100), // keyhold: as the read-only List* calls
  GetKeyPolicy: m('GetKeyPolicy', 1000),
  GetKeyRotationStatus: m('GetKeyRotationStatus', 1000),
  GetParametersForImport: m('GetParametersForImport', 0.25), // 1 in each 4 s
  GetPublicKey: m('GetPublicKey', 5),
  ImportKeyMaterial: m('ImportKeyMaterial', 5),
  ListAliases: m('ListAliases', 100),
  ListGrants: m('ListGrants', 100),
  ListKeyPolicies: m('ListKeyPolicies', 100),
  ListKeyRotations: m('ListKeyRotations', 100), // keyhold: as the other List* calls
  ListKeys: m('ListKeys', 100),
  ListResourceTags: m('ListResourceTags', 100),
  ListRetirableGrants: m('ListRetirableGrants', 5),
  PutKeyPolicy: m('PutKeyPolicy', 5),
  ReplicateKey: m('ReplicateKey', 5), // keyhold: as the other key mutations
  RetireGrant: m('RetireGrant', 15),
  RevokeGrant: m('RevokeGrant', 15),
  RotateKeyOnDemand: m('RotateKeyOnDemand', 5), // keyhold: as the other key mutations
  ScheduleKeyDeletion: m('ScheduleKeyDeletion', 5),
  TagResource: m('TagResource', 5),
  UntagResource: m('UntagResource', 5),
  UpdateAlias: m('UpdateAlias', 5),
  UpdateCustomKeyStore: m('UpdateCustomKeyStore', 5),
  UpdateKeyDescription: m('UpdateKeyDescription', 5),
  UpdatePrimaryRegion: m('UpdatePrimaryRegion', 5), // keyhold: as the other key mutations
} as const satisfies Record<string, Quota & { refine?: Refinement }>;

export type QuotaOperation = keyof typeof OPERATION_QUOTAS;

/** GenerateDataKeyPair* quotas by KeyPairSpec (each calculated separately). */
export const KEY_PAIR_QUOTAS = {
  RSA_2048: m('GenerateDataKeyPair (RSA_2048)', 1),
  RSA_3072: m('GenerateDataKeyPair (RSA_3072)', 0.5), // 1 in each 2 s
  RSA_4096: m('GenerateDataKeyPair (RSA_4096)', 0.1), // 1 in each 10 s
  ECC_NIST_P256: m('GenerateDataKeyPair (ECC_NIST_P256)', 25),
  ECC_NIST_P384: m('GenerateDataKeyPair (ECC_NIST_P384)', 10),
  ECC_NIST_P521: m('GenerateDataKeyPair (ECC_NIST_P521)', 5),
  ECC_SECG_P256K1: m('GenerateDataKeyPair (ECC_SECG_P256K1)', 25),
  SM2: m('GenerateDataKeyPair (SM2)', 25), // keyhold: as the other 256-bit curves
} as const satisfies Record<string, Quota>;

/**
 * The symmetric shared quota per Region (current AWS page): 100,000 in us-east-1,
 * us-west-2 and eu-west-1; 20,000 in us-east-2, ap-southeast-1, ap-southeast-2,
 * ap-northeast-1, eu-central-1 and eu-west-2; 10,000 elsewhere.
 */
const SYMMETRIC_BY_REGION: Readonly<Record<string, number>> = {
  'us-east-1': 100_000,
  'us-west-2': 100_000,
  'eu-west-1': 100_000,
  'us-east-2': 20_000,
  'ap-southeast-1': 20_000,
  'ap-southeast-2': 20_000,
  'ap-northeast-1': 20_000,
  'eu-central-1': 20_000,
  'eu-west-2': 20_000,
};

export function symmetricRps(region: string): number {
  return SYMMETRIC_BY_REGION[region] ?? 10_000;
}

/** The quota a request draws on: the operation's, refined by the key type its input names. */
export function quotaFor(operation: QuotaOperation, input: Record<string, unknown>): Quota {
  const q: Quota & { refine?: Refinement } = OPERATION_QUOTAS[operation];
  switch (q.refine) {
    case undefined:
      return q;
    case 'encryption':
      return byEncryptionAlgorithm(input['EncryptionAlgorithm']) ?? q;
    case 'reencryption':
      return byEncryptionAlgorithm(input['SourceEncryptionAlgorithm']) ?? q;
    case 'signing':
      return bySigningAlgorithm(input['SigningAlgorithm']) ?? q;
    case 'keyPair': {
      const spec = input['KeyPairSpec'];
      return (
        (typeof spec === 'string' && spec in KEY_PAIR_QUOTAS
          ? KEY_PAIR_QUOTAS[spec as keyof typeof KEY_PAIR_QUOTAS]
          : undefined) ?? q
      );
    }
  }
}

/** RSAES_* → RSA, SM2PKE → ECC (the SM2 curve), SYMMETRIC_DEFAULT / absent → symmetric. */
function byEncryptionAlgorithm(alg: unknown): Quota | undefined {
  if (typeof alg !== 'string') return undefined;
  if (alg.startsWith('RSAES_')) return RSA;
  if (alg === 'SM2PKE') return ECC;
  return undefined;
}

/** RSASSA_* → RSA; ECDSA_*, SM2DSA → ECC; ML-DSA (no AWS quota we could read) → RSA's. */
function bySigningAlgorithm(alg: unknown): Quota | undefined {
  if (typeof alg !== 'string') return undefined;
  if (alg.startsWith('ECDSA_') || alg === 'SM2DSA') return ECC;
  return RSA;
}

// ---------------------------------------------------------------------------------------

export interface QuotaOptions {
  /** Multiplies every rate (and so every burst); 1 = AWS's defaults. */
  scale?: number;
  /**
   * Requests per second by operation name, replacing that operation's quota (unscaled; an
   * operation of a shared quota sets the shared quota) — as a quota increase would in AWS.
   */
  rps?: Readonly<Record<string, number>>;
  /** Milliseconds on the server's clock. */
  now: () => number;
}

interface Bucket {
  tokens: number;
  /** Clock reading (ms) of the last refill. */
  last: number;
  /** Tokens per millisecond. */
  readonly perMs: number;
  /** Burst: one second of the rate, at least one request. */
  readonly capacity: number;
}

/**
 * Token buckets per (account, Region, quota). A bucket starts full; each request takes
 * one token; tokens come back at the quota's rate up to one second's worth. The hot path
 * is one Map lookup and a few arithmetic operations.
 */
export class RequestQuotas {
  readonly #buckets = new Map<string, Bucket>();
  readonly #scale: number;
  readonly #now: () => number;
  /** Quota name → configured rate (QuotaOptions.rps). */
  readonly #rps = new Map<string, number>();

  constructor(opts: QuotaOptions) {
    this.#scale = opts.scale ?? 1;
    if (!(this.#scale > 0)) throw new RangeError('quota scale must be a positive number');
    this.#now = opts.now;
    for (const [op, rps] of Object.entries(opts.rps ?? {})) {
      const q = (OPERATION_QUOTAS as Record<string, Quota | undefined>)[op];
      if (q === undefined) throw new RangeError(`no request quota for operation ${op}`);
      if (!(rps > 0)) throw new RangeError(`the quota of ${op} must be a positive number`);
      this.#rps.set(q.quota, rps);
    }
  }

  /**
   * Take one request from the bucket; false when the caller must be throttled. `now`
   * (ms on the server's clock) saves a clock read when the caller has one.
   */
  tryTake(accountId: string, region: string, quota: Quota, now: number = this.#now()): boolean {
    const key = `${accountId}/${region}/${quota.quota}`;
    let b = this.#buckets.get(key);
    if (b === undefined) {
      const rps =
        this.#rps.get(quota.quota) ??
        (quota.quota === SYMMETRIC ? symmetricRps(region) : quota.rps) * this.#scale;
      const capacity = Math.max(1, rps);
      b = { tokens: capacity, last: now, perMs: rps / 1000, capacity };
      this.#buckets.set(key, b);
    } else {
      // A clock that moved backwards refills nothing.
      const elapsed = now - b.last;
      if (elapsed > 0) b.tokens = Math.min(b.capacity, b.tokens + elapsed * b.perMs);
      b.last = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Tokens left in a bucket (tests, diagnostics); undefined if it was never used. */
  tokens(accountId: string, region: string, quota: Quota): number | undefined {
    return this.#buckets.get(`${accountId}/${region}/${quota.quota}`)?.tokens;
  }
}

export const THROTTLING_MESSAGE =
  'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';
