/**
 * What every key-using operation does first, in AWS's order: resolve the KeyId, authorize
 * the caller, check the key usage (when the operation needs one), check the key state. Plus loading a backing-key version for the HSM.
 */
import type { BackingKeyHandle } from '../../hsm/hsm.js';
import { kmsError } from '../../errors/aws-errors.js';
import type { KeyRecord } from '../../storage/repository.js';
import { authorizeKey, type AuthorizeOptions } from '../access/authorize.js';
import type { RequestContext } from '../context.js';
import { resolveKey } from './key-resolver.js';
import { checkKeyState } from './key-state.js';

export interface UseKeyOptions {
  /** Operation name for the key-state table. */
  operation: string;
  /** IAM action to authorize. */
  action: string;
  aliases: boolean;
  /**
   * The key usage the operation needs. AWS checks it before the key state (a disabled HMAC
   * key asked to Sign is InvalidKeyUsageException, not DisabledException).
   */
  usage?: string;
  /** Encryption context, grant tokens and condition keys for the authorization step. */
  authz?: AuthorizeOptions;
}

export async function useKey(
  ctx: RequestContext,
  keyId: string,
  opts: UseKeyOptions,
): Promise<KeyRecord> {
  const key = await resolveKey(ctx, keyId, { aliases: opts.aliases });
  await authorizeKey(ctx, key, opts.action, opts.authz);
  if (opts.usage !== undefined && key.keyUsage !== opts.usage) {
    throw kmsError(
      'InvalidKeyUsageException',
      `${key.arn} key usage is ${key.keyUsage} which is not valid for ${opts.operation}.`,
    );
  }
  checkKeyState(opts.operation, key);
  return key;
}

/**
 * Only symmetric encryption keys may encrypt, decrypt and make data keys. A key of another
 * usage gets the usage message; an asymmetric ENCRYPT_DECRYPT key asked for a data key gets
 * AWS's own sentence for it.
 */
export function requireSymmetricEncryption(key: KeyRecord, operation: string): void {
  if (key.keySpec === 'SYMMETRIC_DEFAULT' && key.keyUsage === 'ENCRYPT_DECRYPT') return;
  if (key.keyUsage === 'ENCRYPT_DECRYPT' && operation.startsWith('GenerateDataKey')) {
    throw kmsError(
      'InvalidKeyUsageException',
      'You cannot generate a data key with an asymmetric CMK',
    );
  }
  throw kmsError(
    'InvalidKeyUsageException',
    `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`,
  );
}

/** The backing key version a ciphertext or a new encryption uses. */
export async function backingKey(
  ctx: RequestContext,
  key: KeyRecord,
  versionId = key.currentVersionId,
): Promise<BackingKeyHandle | undefined> {
  if (versionId === undefined) return undefined;
  const v = await ctx.services.storage.getKeyVersion(key.region, key.keyId, versionId);
  if (v === undefined) return undefined;
  return { keyId: key.keyId, keyArn: key.arn, versionId, domainKeyId: v.domainKeyId, ekt: v.ekt };
}

/** The active backing key; its absence is an internal fault for an Enabled AWS_KMS key. */
export async function activeBackingKey(
  ctx: RequestContext,
  key: KeyRecord,
): Promise<BackingKeyHandle> {
  const handle = await backingKey(ctx, key);
  if (handle === undefined) throw new Error(`key ${key.arn} has no active backing key`);
  return handle;
}

/** DryRun: the request would have succeeded. */
export function dryRunSucceeded(): never {
  throw kmsError(
    'DryRunOperationException',
    'The request would have succeeded, but the DryRun option is set.',
  );
}

/** Nitro Enclaves attestation (Recipient) is not something keyhold can verify. */
export function refuseRecipient(recipient: unknown): void {
  if (recipient !== undefined) {
    throw kmsError(
      'UnsupportedOperationException',
      'The Recipient parameter (Nitro Enclaves attestation) is not supported by keyhold.',
    );
  }
}
