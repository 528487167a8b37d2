/**
 * Symmetric encryption shared by Encrypt, Decrypt, ReEncrypt and GenerateDataKey*:
 * the key checks AWS makes, then the HSM call.
 */
import type { EncryptionContext } from '../hsm/encryption-context.js';
import { decodeBlob } from '../hsm/ciphertext-blob.js';
import { invalidCiphertext, kmsError } from '../protocol/errors.js';
import type { KeyRecord } from '../storage/repository.js';
import { authorizeKey } from './authorize.js';
import type { RequestContext } from './context.js';
import { checkKeyState } from './key-state.js';
import { resolveKey } from './key-resolver.js';
import { activeBackingKey, backingKey, requireSymmetricEncryption } from './use-key.js';

export const SYMMETRIC_DEFAULT = 'SYMMETRIC_DEFAULT';

/** Symmetric keys take only SYMMETRIC_DEFAULT (asymmetric algorithms need an asymmetric key). */
export function checkSymmetricAlgorithm(key: KeyRecord, algorithm: string | undefined): void {
  if (algorithm !== undefined && algorithm !== SYMMETRIC_DEFAULT) {
    throw kmsError(
      'InvalidKeyUsageException',
      `The encryption algorithm ${algorithm} is not compatible with the KMS key ${key.arn}.`,
    );
  }
}

export interface Encrypted {
  blob: Buffer;
  versionId: string;
}

export async function encryptWithKey(
  ctx: RequestContext,
  key: KeyRecord,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
): Promise<Encrypted> {
  const handle = await activeBackingKey(ctx, key);
  return {
    blob: ctx.services.hsm.encrypt(handle, plaintext, context),
    versionId: handle.versionId,
  };
}

export interface DecryptOptions {
  operation: string;
  action: string;
  /** The KeyId the caller named, if any: it must identify the encrypting key. */
  keyId?: string | undefined;
  algorithm?: string | undefined;
  grantTokens?: string[] | undefined;
}

export interface Decrypted {
  key: KeyRecord;
  plaintext: Buffer;
  versionId: string;
}

const NO_SUCH_KEY =
  'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.';

/** Find the key a symmetric blob names, check everything AWS checks, and decrypt. */
export async function decryptBlob(
  ctx: RequestContext,
  blob: Buffer,
  context: EncryptionContext | undefined,
  opts: DecryptOptions,
): Promise<Decrypted> {
  const parts = decodeBlob(blob);
  const named =
    opts.keyId === undefined ? undefined : await resolveKey(ctx, opts.keyId, { aliases: true });
  const key = await ctx.services.storage.getKey(ctx.region, parts.keyId);
  /* Precondition: the key the ciphertext names exists in this Region. */
  if (key === undefined) throw kmsError('AccessDeniedException', NO_SUCH_KEY);
  /* Precondition: a KeyId in the request identifies the key that encrypted the ciphertext. */
  if (named !== undefined && named.keyId !== key.keyId) {
    throw kmsError(
      'IncorrectKeyException',
      'The key ID in the request does not identify a CMK that can perform this operation.',
    );
  }
  if (named === undefined) ctx.keyArns.push(key.arn);
  await authorizeKey(ctx, key, opts.action, {
    encryptionContext: context,
    grantTokens: opts.grantTokens,
  });
  checkKeyState(opts.operation, key);
  requireSymmetricEncryption(key, opts.operation);
  checkSymmetricAlgorithm(key, opts.algorithm);
  const handle = await backingKey(ctx, key, parts.versionId);
  /* Precondition: the backing key version the ciphertext names belongs to this key. */
  if (handle === undefined) throw invalidCiphertext();
  return {
    key,
    plaintext: ctx.services.hsm.decrypt(handle, parts, context),
    versionId: parts.versionId,
  };
}

/** GenerateDataKey*: exactly one of KeySpec and NumberOfBytes. */
export function dataKeyLength(
  keySpec: string | undefined,
  numberOfBytes: number | undefined,
): number {
  if ((keySpec === undefined) === (numberOfBytes === undefined)) {
    throw kmsError('ValidationException', 'Please specify either number of bytes or key spec.');
  }
  if (keySpec !== undefined) return keySpec === 'AES_128' ? 16 : 32;
  return numberOfBytes as number;
}
