/**
 * Double encryption for KMS keys in an external key store (devguide
 * keystore-external.md "Double encryption"): keyhold first encrypts with the KMS key's own
 * HBK (hsm.encrypt → the ordinary v1 blob, the "inner blob"), then asks the proxy to encrypt
 * the inner blob with the external key (AES_GCM). The plaintext never reaches the proxy;
 * neither keyhold nor the external key manager alone can decrypt.
 *
 * The result is the connector payload of a custom key store blob (hsm/ciphertext-blob.ts,
 * which carries key id and HBK version in its header):
 *
 *   offset  size  field
 *   0       1     IV length from the proxy (12 or 16)
 *   1       1     ciphertextMetadata length m (0..20)
 *   2       iv    initializationVector
 *   ..      m     ciphertextMetadata
 *   ..      16    authenticationTag
 *   ..      n     proxy ciphertext (n = inner blob length)
 *
 * The AAD sent to the proxy is SHA-256(custom blob header ‖ canonical encryption context):
 * the proxy's layer is bound to the key, the HBK version and the context, and stays far
 * below the spec's 8192-byte AAD limit whatever the context size (the inner blob binds the
 * full context again).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeSymmetricBlob, TAG_LENGTH } from '../../hsm/ciphertext-blob.js';
import type { EncryptionContext } from '../../hsm/encryption-context.js';
import type { BackingKeyHandle, Hsm } from '../../hsm/hsm.js';
import { invalidCiphertext } from '../../errors/aws-errors.js';
import type { XksClient, XksEncryptResult, XksRequestMetadata } from './xks-client.js';
import { XksProxyFailure } from './xks-errors.js';

const MAX_METADATA = 20;

export interface XksPayload {
  iv: Buffer;
  ciphertextMetadata: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** The AAD given to the proxy for a blob AAD (header ‖ canonical encryption context). */
export function proxyAad(blobAad: Buffer): Buffer {
  return createHash('sha256').update(blobAad).digest();
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

/** Check what the proxy returned for Encrypt; a bad answer is a MalformedResponse. */
export function checkEncryptResult(r: XksEncryptResult, aad: Buffer, innerLength: number): void {
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

/** Encrypt under the HBK, then under the external key; returns the connector payload. */
export async function xksEncrypt(
  deps: XksCryptoDeps,
  handle: BackingKeyHandle,
  externalKeyId: string,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
  blobAad: Buffer,
  meta: XksRequestMetadata,
): Promise<Buffer> {
  const inner = deps.hsm.encrypt(handle, plaintext, context);
  const aad = proxyAad(blobAad);
  const r = await deps.client.encrypt(externalKeyId, inner, aad, meta);
  checkEncryptResult(r, aad, inner.length);
  const metadata = r.ciphertextMetadata ?? Buffer.alloc(0);
  return Buffer.concat([
    Buffer.from([r.initializationVector.length, metadata.length]),
    r.initializationVector,
    metadata,
    r.authenticationTag,
    r.ciphertext,
  ]);
}

/** Parse a payload; every malformation is the one opaque InvalidCiphertextException. */
export function decodeXksPayload(payload: Buffer): XksPayload {
  /* Precondition: the two length bytes are present. */
  if (payload.length < 2) throw invalidCiphertext();
  const ivLength = payload[0] as number;
  const mLength = payload[1] as number;
  /* Precondition: IV and metadata lengths are ones the spec allows. */
  if ((ivLength !== 12 && ivLength !== 16) || mLength > MAX_METADATA) throw invalidCiphertext();
  let o = 2;
  /* Precondition: IV, metadata, tag and at least one ciphertext byte fit. */
  if (payload.length < o + ivLength + mLength + TAG_LENGTH + 1) throw invalidCiphertext();
  const iv = payload.subarray(o, (o += ivLength));
  const ciphertextMetadata = payload.subarray(o, (o += mLength));
  const tag = payload.subarray(o, (o += TAG_LENGTH));
  return { iv, ciphertextMetadata, tag, ciphertext: payload.subarray(o) };
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
  payload: Buffer,
  context: EncryptionContext | undefined,
  blobAad: Buffer,
  meta: XksRequestMetadata,
): Promise<Buffer> {
  const parts = decodeXksPayload(payload);
  const inner = await deps.client.decrypt(
    externalKeyId,
    {
      ciphertext: parts.ciphertext,
      ciphertextMetadata: parts.ciphertextMetadata,
      initializationVector: parts.iv,
      authenticationTag: parts.tag,
      additionalAuthenticatedData: proxyAad(blobAad),
    },
    meta,
  );
  try {
    const innerParts = decodeSymmetricBlob(inner);
    /* Precondition: the inner blob names the same key and HBK version as the outer one. */
    if (innerParts.keyId !== handle.keyId || innerParts.versionId !== handle.versionId)
      throw invalidCiphertext();
    return deps.hsm.decrypt(handle, innerParts, context);
  } catch (err) {
    throw new XksProxyFailure('InvalidCiphertextFromProxy', 200, undefined, { cause: err });
  } finally {
    inner.fill(0);
  }
}
