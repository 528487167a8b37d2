/**
 * Double encryption for KMS keys in an external key store (DESIGN.md §2; devguide
 * keystore-external.md "Double encryption"): keyhold first encrypts with the KMS key's own
 * HBK (hsm.encrypt → the ordinary v1 blob, the "inner blob"), then asks the proxy to encrypt
 * the inner blob with the external key (AES_GCM). The plaintext never reaches the proxy;
 * neither keyhold nor the external key manager alone can decrypt.
 *
 * Outer blob (format 0x58, "X"); bytes 0..49 are laid out as in the v1 blob so that the key
 * id can be read at the same offsets whatever the format:
 *
 *   offset  size  field
 *   0       1     format (0x58: external key store)
 *   1       1     key id kind (as v1)
 *   2       16    key id
 *   18      32    backing key version id (keyhold's HBK version of the inner blob)
 *   50      1     IV length from the proxy (12 or 16)
 *   51      1     ciphertextMetadata length m (0..20)
 *   52      iv    initializationVector
 *   ..      m     ciphertextMetadata
 *   ..      16    authenticationTag
 *   ..      n     proxy ciphertext (n = inner blob length)
 *
 * AAD sent to the proxy = bytes 0..49 || SHA-256(canonical encryption context): the proxy's
 * layer is bound to the key, the HBK version and the context (hashed so the AAD stays far
 * below the spec's 8192-byte limit; the inner blob binds the full context again).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  decodeBlob,
  decodeKeyId,
  encodeKeyId,
  KEY_ID_MRK,
  KEY_ID_UUID,
  TAG_LENGTH,
} from '../../hsm/ciphertext-blob.js';
import {
  canonicalEncryptionContext,
  type EncryptionContext,
} from '../../hsm/encryption-context.js';
import type { BackingKeyHandle, Hsm } from '../../hsm/hsm.js';
import { invalidCiphertext } from '../../protocol/errors.js';
import type { XksClient, XksEncryptResult, XksRequestMetadata } from './xks-client.js';
import { XksProxyFailure } from './xks-errors.js';

export const XKS_BLOB_FORMAT = 0x58;
const FIXED_HEADER = 2 + 16 + 32;
const MAX_METADATA = 20;

export interface XksBlobParts {
  keyId: string;
  versionId: string;
  /** Bytes 0..49, part of the proxy AAD. */
  header: Buffer;
  iv: Buffer;
  ciphertextMetadata: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** Whether a ciphertext blob is an external-key-store blob (format byte). */
export function isXksBlob(blob: Buffer): boolean {
  return blob.length > 0 && blob[0] === XKS_BLOB_FORMAT;
}

/** The proxy AAD: fixed header || SHA-256(canonical encryption context). */
export function proxyAad(header: Buffer, context: EncryptionContext | undefined): Buffer {
  const ec = createHash('sha256').update(canonicalEncryptionContext(context)).digest();
  return Buffer.concat([header, ec]);
}

/** Spec Appendix C: SHA-256(aad || ciphertextMetadata || iv || ciphertext || tag). */
export function integrityValue(aad: Buffer, r: XksEncryptResult): Buffer {
  return createHash('sha256')
    .update(aad)
    .update(r.ciphertextMetadata ?? Buffer.alloc(0))
    .update(r.initializationVector)
    .update(r.ciphertext)
    .update(r.authenticationTag)
    .digest();
}

function fixedHeader(handle: BackingKeyHandle): Buffer {
  const { kind, bytes } = encodeKeyId(handle.keyId);
  return Buffer.concat([
    Buffer.from([XKS_BLOB_FORMAT, kind]),
    bytes,
    Buffer.from(handle.versionId, 'hex'),
  ]);
}

/** Check what the proxy returned for Encrypt; a bad answer is a MalformedResponse. */
function checkEncryptResult(r: XksEncryptResult, aad: Buffer, innerLength: number): void {
  const metadata = r.ciphertextMetadata ?? Buffer.alloc(0);
  const ivOk = r.initializationVector.length === 12 || r.initializationVector.length === 16;
  /* Precondition: the answer has the shapes the spec requires (§Encrypt response). */
  if (
    !ivOk ||
    r.authenticationTag.length !== TAG_LENGTH ||
    metadata.length > MAX_METADATA ||
    r.ciphertext.length !== innerLength
  ) {
    throw new XksProxyFailure('MalformedResponse', 200);
  }
  /* Precondition: the CDIV we asked for is present and matches (spec Appendix C). */
  const cdiv = r.ciphertextDataIntegrityValue;
  const expected = integrityValue(aad, r);
  if (cdiv === undefined || cdiv.length !== expected.length || !timingSafeEqual(cdiv, expected)) {
    throw new XksProxyFailure('MalformedResponse', 200);
  }
}

export interface XksCryptoDeps {
  hsm: Hsm;
  client: XksClient;
}

/** Encrypt under the HBK, then under the external key; returns the outer blob. */
export async function xksEncrypt(
  deps: XksCryptoDeps,
  handle: BackingKeyHandle,
  externalKeyId: string,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
  meta: XksRequestMetadata,
): Promise<Buffer> {
  const inner = deps.hsm.encrypt(handle, plaintext, context);
  const header = fixedHeader(handle);
  const aad = proxyAad(header, context);
  const r = await deps.client.encrypt(externalKeyId, inner, aad, meta);
  checkEncryptResult(r, aad, inner.length);
  const metadata = r.ciphertextMetadata ?? Buffer.alloc(0);
  return Buffer.concat([
    header,
    Buffer.from([r.initializationVector.length, metadata.length]),
    r.initializationVector,
    metadata,
    r.authenticationTag,
    r.ciphertext,
  ]);
}

/** Parse an outer blob; every malformation is the one opaque InvalidCiphertextException. */
export function decodeXksBlob(blob: Buffer): XksBlobParts {
  /* Precondition: the blob is an external-key-store blob with its fixed fields. */
  if (blob.length < FIXED_HEADER + 2 || blob[0] !== XKS_BLOB_FORMAT) throw invalidCiphertext();
  const ivLength = blob[FIXED_HEADER] as number;
  const mLength = blob[FIXED_HEADER + 1] as number;
  /* Precondition: IV and metadata lengths are ones the spec allows. */
  if ((ivLength !== 12 && ivLength !== 16) || mLength > MAX_METADATA) throw invalidCiphertext();
  let o = FIXED_HEADER + 2;
  /* Precondition: IV, metadata, tag and at least one ciphertext byte fit. */
  if (blob.length < o + ivLength + mLength + TAG_LENGTH + 1) throw invalidCiphertext();
  const kind = blob[1];
  /* Precondition: the key id kind is known (as in the v1 blob). */
  if (kind !== KEY_ID_UUID && kind !== KEY_ID_MRK) throw invalidCiphertext();
  const iv = blob.subarray(o, (o += ivLength));
  const ciphertextMetadata = blob.subarray(o, (o += mLength));
  const tag = blob.subarray(o, (o += TAG_LENGTH));
  return {
    keyId: decodeKeyId(kind, blob.subarray(2, 18)),
    versionId: blob.subarray(18, FIXED_HEADER).toString('hex'),
    header: blob.subarray(0, FIXED_HEADER),
    iv,
    ciphertextMetadata,
    tag,
    ciphertext: blob.subarray(o),
  };
}

/**
 * Ask the proxy to remove the outer layer, then decrypt the inner blob with the HBK.
 * An inner blob that is not the one keyhold made for this key and version, or that does not
 * authenticate, is InvalidCiphertextFromProxy (spec: "invalid ciphertext returned by proxy").
 */
export async function xksDecrypt(
  deps: XksCryptoDeps,
  handle: BackingKeyHandle,
  externalKeyId: string,
  parts: XksBlobParts,
  context: EncryptionContext | undefined,
  meta: XksRequestMetadata,
): Promise<Buffer> {
  const inner = await deps.client.decrypt(
    externalKeyId,
    {
      ciphertext: parts.ciphertext,
      ciphertextMetadata: parts.ciphertextMetadata,
      initializationVector: parts.iv,
      authenticationTag: parts.tag,
      additionalAuthenticatedData: proxyAad(parts.header, context),
    },
    meta,
  );
  try {
    const innerParts = decodeBlob(inner);
    /* Precondition: the inner blob names the same key and HBK version as the outer one. */
    if (innerParts.keyId !== handle.keyId || innerParts.versionId !== handle.versionId)
      throw invalidCiphertext();
    return deps.hsm.decrypt(handle, innerParts, context);
  } catch (err) {
    throw new XksProxyFailure('InvalidCiphertextFromProxy', 200, undefined, { cause: err });
  }
}
