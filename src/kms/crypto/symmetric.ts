/**
 * Symmetric encryption shared by Encrypt, Decrypt, ReEncrypt and GenerateDataKey*:
 * the key checks AWS makes, then the HSM call.
 */
import type { EncryptionContext } from '../../hsm/encryption-context.js';
import { annotateKey } from '../../keystores/attach-custom-key-view.js';
import { isCustomStoreKey } from '../../keystores/custom-key-view.js';
import { decryptCustom, encryptCustom } from '../custom-stores/keys-in-custom-stores.js';
import { invalidCiphertext, kmsError } from '../../errors/aws-errors.js';
import type { KeyRecord } from '../../storage/repository.js';
import { authorizeKey } from '../access/authorize.js';
import type { RequestContext } from '../context.js';
import { decodeCiphertext } from './hsm-errors.js';
import { checkKeyState } from '../keys/key-state.js';
import { resolveKey } from '../keys/key-resolver.js';
import { activeBackingKey, backingKey, requireSymmetricEncryption } from '../keys/use-key.js';

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
  // Keys of custom key stores encrypt in their store (CloudHSM token / XKS proxy): blob v2.
  if (isCustomStoreKey(key)) return encryptCustom(ctx, key, plaintext, context);
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
  const parsed = decodeCiphertext(blob);
  const named =
    opts.keyId === undefined ? undefined : await resolveKey(ctx, opts.keyId, { aliases: true });
  const stored = await ctx.services.storage.getKey(ctx.region, parsed.keyId);
  /* Precondition: the key the ciphertext names exists in this Region. */
  if (stored === undefined) throw kmsError('AccessDeniedException', NO_SUCH_KEY);
  const key = await annotateKey(ctx.services, stored);
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
  });
  checkKeyState(opts.operation, key);
  requireSymmetricEncryption(key, opts.operation);
  checkSymmetricAlgorithm(key, opts.algorithm);
  /*
   * Precondition: the blob format matches where the key lives. A v1 blob never opens a
   * custom key store key: for an external key store key that would be the inner layer
   * alone, decrypted without the external key.
   */
  if ((parsed.version === 2) !== isCustomStoreKey(key)) throw invalidCiphertext();
  if (parsed.version === 2) {
    const plaintext = await decryptCustom(ctx, key, parsed, context);
    return { key, plaintext, versionId: key.currentVersionId as string };
  }
  const handle = await backingKey(ctx, key, parsed.versionId);
  /* Precondition: the backing key version the ciphertext names belongs to this key. */
  if (handle === undefined) throw invalidCiphertext();
  return {
    key,
    plaintext: ctx.services.hsm.decrypt(handle, parsed, context),
    versionId: parsed.versionId,
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
