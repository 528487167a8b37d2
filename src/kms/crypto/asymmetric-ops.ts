/**
 * What the asymmetric and HMAC operations share: usage and algorithm checks against the
 * key-spec table, loading a key's material handle and public key, and RSAES-OAEP
 * encryption/decryption for Encrypt, Decrypt and ReEncrypt.
 */
import type { EncryptionAlgorithmSpec } from '@aws-sdk/client-kms';
import type { BackingKeyHandle, SignInput } from '../../hsm/hsm.js';
import { encryptOaep, publicKeyFromDer } from '../../hsm/asymmetric.js';
import type { EncryptionContext } from '../../hsm/encryption-context.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { KeyRecord } from '../../storage/repository.js';
import type { RequestContext } from '../context.js';
import {
  algorithmsFor,
  keySpecInfo,
  oaepPlaintextLimit,
  RSA_ENCRYPTION_ALGORITHMS,
  SIGNING_ALGORITHMS,
  type SigningAlgorithmInfo,
} from '../keys/key-specs.js';
import { checkSymmetricAlgorithm, encryptWithKey, SYMMETRIC_DEFAULT } from './symmetric.js';
import { requireSymmetricEncryption, useKey } from '../keys/use-key.js';

/** The key's usage must be `usage` (InvalidKeyUsageException, AWS's wording). */
export function requireUsage(key: KeyRecord, usage: string, operation: string): void {
  if (key.keyUsage !== usage) {
    throw kmsError(
      'InvalidKeyUsageException',
      `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`,
    );
  }
}

/** The algorithm must be one the key's spec offers for its usage (InvalidKeyUsageException). */
export function requireAlgorithm(key: KeyRecord, algorithm: string): void {
  if (!algorithmsFor(key.keySpec, key.keyUsage).includes(algorithm)) {
    throw kmsError(
      'InvalidKeyUsageException',
      `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
    );
  }
}

/** Sign / Verify: the algorithm, MessageType, support and digest length checks, in that order. */
export function signingAlgorithm(
  key: KeyRecord,
  algorithm: string,
  messageType: string,
  message: Buffer,
): SigningAlgorithmInfo & { scheme: NonNullable<SigningAlgorithmInfo['scheme']> } {
  requireAlgorithm(key, algorithm);
  const info = SIGNING_ALGORITHMS[algorithm];
  // AWS's words: ML-DSA keys name the key spec, the others the algorithm.
  if (info !== undefined && !info.messageTypes.includes(messageType)) {
    throw kmsError(
      'ValidationException',
      key.keySpec.startsWith('ML_DSA_')
        ? `Message type ${messageType} is incompatible with key spec ${key.keySpec}.`
        : `Message type ${messageType} is incompatible with algorithm ${algorithm}.`,
    );
  }
  if (info === undefined || !info.supported || info.scheme === undefined) {
    throw kmsError(
      'UnsupportedOperationException',
      `The signing algorithm ${algorithm} is not supported by keyhold.${info?.unsupportedReason === undefined ? '' : ` ${info.unsupportedReason}`}`,
    );
  }
  if (messageType === 'DIGEST' && message.length !== info.digestLength) {
    throw kmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  }
  // Model (Sign MessageType): "the length of the Message value must be 64 bytes".
  if (messageType === 'EXTERNAL_MU' && message.length !== info.digestLength) {
    throw kmsError(
      'ValidationException',
      `External mu must be ${info.digestLength} bytes for algorithm ${algorithm}.`,
    );
  }
  return { ...info, scheme: info.scheme };
}

/** The HSM's SignInput for a MessageType that signingAlgorithm() accepted. */
export function signInput(messageType: string): SignInput {
  return messageType === 'DIGEST' || messageType === 'EXTERNAL_MU' ? messageType : 'RAW';
}

export interface KeyMaterial {
  handle: BackingKeyHandle;
  publicKey: Buffer | undefined;
}

/** The key's current material: the HSM handle (EKT) and, for key pairs, the public key. */
export async function keyMaterial(ctx: RequestContext, key: KeyRecord): Promise<KeyMaterial> {
  const versionId = key.currentVersionId;
  const v =
    versionId === undefined
      ? undefined
      : await ctx.services.storage.getKeyVersion(key.region, key.keyId, versionId);
  if (v === undefined || versionId === undefined) {
    throw new Error(`key ${key.arn} has no key material`);
  }
  return {
    handle: {
      keyId: key.keyId,
      keyArn: key.arn,
      versionId,
      domainKeyId: v.domainKeyId,
      ekt: v.ekt,
    },
    publicKey: v.publicKey,
  };
}

/** The public key of a key pair (an internal fault if missing). */
export async function publicKeyOf(ctx: RequestContext, key: KeyRecord): Promise<Buffer> {
  const m = await keyMaterial(ctx, key);
  if (m.publicKey === undefined) throw new Error(`key ${key.arn} has no public key`);
  return m.publicKey;
}

/** Asymmetric and HMAC algorithms take no encryption context (model, Encrypt EncryptionContext). */
export function refuseEncryptionContext(
  key: KeyRecord,
  context: EncryptionContext | undefined,
): void {
  if (context !== undefined && Object.keys(context).length > 0) {
    throw kmsError(
      'ValidationException',
      `EncryptionContext is not supported with the asymmetric KMS key ${key.arn}.`,
    );
  }
}

export function isRsaEncryptionAlgorithm(algorithm: string | undefined): boolean {
  return algorithm !== undefined && RSA_ENCRYPTION_ALGORITHMS[algorithm] !== undefined;
}

export interface EncryptedFor {
  blob: Buffer;
  algorithm: EncryptionAlgorithmSpec;
  versionId?: string;
}

/**
 * Encrypt / ReEncrypt's destination half on a resolved, authorized key: a symmetric blob,
 * or raw RSAES-OAEP ciphertext with the key's public key.
 */
export async function encryptFor(
  ctx: RequestContext,
  key: KeyRecord,
  operation: string,
  plaintext: Buffer,
  algorithm: string | undefined,
  context: EncryptionContext | undefined,
  dryRun: boolean,
): Promise<EncryptedFor> {
  if (key.keySpec === SYMMETRIC_DEFAULT) {
    requireSymmetricEncryption(key, operation);
    checkSymmetricAlgorithm(key, algorithm);
    if (dryRun) return { blob: Buffer.alloc(0), algorithm: SYMMETRIC_DEFAULT };
    const out = await encryptWithKey(ctx, key, plaintext, context);
    return { blob: out.blob, algorithm: SYMMETRIC_DEFAULT, versionId: out.versionId };
  }
  requireUsage(key, 'ENCRYPT_DECRYPT', operation);
  const alg = (algorithm ?? SYMMETRIC_DEFAULT) as EncryptionAlgorithmSpec;
  requireAlgorithm(key, alg);
  refuseEncryptionContext(key, context);
  const a = RSA_ENCRYPTION_ALGORITHMS[alg];
  const modulusBytes = keySpecInfo(key.keySpec)?.modulusBytes;
  if (a === undefined || modulusBytes === undefined) {
    throw kmsError('UnsupportedOperationException', `${alg} is not supported by keyhold.`);
  }
  const limit = oaepPlaintextLimit(modulusBytes, alg);
  if (plaintext.length > limit) {
    throw kmsError(
      'ValidationException',
      `Algorithm ${alg} and key spec ${key.keySpec} cannot encrypt data larger than ${limit} bytes.`,
    );
  }
  if (dryRun) return { blob: Buffer.alloc(0), algorithm: alg };
  return { blob: encryptOaep(await publicKeyOf(ctx, key), plaintext, a.hash), algorithm: alg };
}

export interface AsymmetricDecrypted {
  key: KeyRecord;
  plaintext: Buffer;
  algorithm: EncryptionAlgorithmSpec;
}

export interface AsymmetricDecryptOptions {
  operation: string;
  action: string;
  keyId: string | undefined;
  algorithm: string;
  context: EncryptionContext | undefined;
  /** DryRun: stop (with the caller's DryRunOperationException) before the HSM call. */
  dryRun?: () => never;
}

/**
 * Decrypt / ReEncrypt's source half for raw RSAES-OAEP ciphertext: the ciphertext names no
 * key, so KeyId (SourceKeyId) and the algorithm are required (model, Decrypt KeyId).
 */
export async function decryptAsymmetric(
  ctx: RequestContext,
  ciphertext: Buffer,
  opts: AsymmetricDecryptOptions,
): Promise<AsymmetricDecrypted> {
  /* Precondition: a ciphertext under an asymmetric key comes with the key that made it. */
  if (opts.keyId === undefined) {
    throw kmsError(
      'ValidationException',
      `KeyId is required to decrypt with the encryption algorithm ${opts.algorithm}.`,
    );
  }
  const key = await useKey(ctx, opts.keyId, {
    operation: opts.operation,
    action: opts.action,
    aliases: true,
    authz: {
      conditions: { 'kms:EncryptionAlgorithm': opts.algorithm },
    },
  });
  requireUsage(key, 'ENCRYPT_DECRYPT', opts.operation);
  requireAlgorithm(key, opts.algorithm);
  refuseEncryptionContext(key, opts.context);
  const a = RSA_ENCRYPTION_ALGORITHMS[opts.algorithm];
  if (a === undefined) throw new Error(`not an RSA algorithm: ${opts.algorithm}`);
  opts.dryRun?.();
  const { handle } = await keyMaterial(ctx, key);
  return {
    key,
    plaintext: ctx.services.hsm.decryptOaep(handle, ciphertext, a.hash),
    algorithm: opts.algorithm as EncryptionAlgorithmSpec,
  };
}

/** The peer's public key for DeriveSharedSecret: DER SPKI on the KMS key's curve. */
export function checkPeerPublicKey(key: KeyRecord, der: Buffer): void {
  const curve = keySpecInfo(key.keySpec)?.keyPair;
  let ok = false;
  try {
    const pub = publicKeyFromDer(der);
    ok =
      curve?.type === 'ec' &&
      pub.asymmetricKeyType === 'ec' &&
      pub.asymmetricKeyDetails?.namedCurve === curve.namedCurve;
  } catch {
    ok = false;
  }
  // AWS refuses a bad peer key with a ValidationException that carries no message.
  if (!ok) throw kmsError('ValidationException', '');
}
