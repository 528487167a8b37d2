/**
 * The ciphertext blob of a key in a custom key store (format v2). A fixed header names the
 * key and backing key version (so Decrypt without KeyId finds the key, as for v1 blobs),
 * then the store type, then the connector's payload:
 *
 *   offset  size  field
 *   0       1     format version (0x02: custom key store)
 *   1       1     key id kind (0x00 UUID key id; custom store keys are never multi-Region)
 *   2       16    key id
 *   18      32    backing key version id (CurrentKeyMaterialId / KeyMaterialId)
 *   50      1     store type (0x01 AWS_CLOUDHSM, 0x02 EXTERNAL_KEY_STORE)
 *   51      n     connector payload
 *
 * AAD given to the connector = bytes 0..50 (the header) ‖ canonical encryption context.
 * AWS_CLOUDHSM payload: IV (12) ‖ ciphertext ‖ GCM tag (16), made by CKM_AES_GCM in the token.
 * EXTERNAL_KEY_STORE payload: defined in keystores/xks/ (the proxy's AES_GCM of keyhold's own
 * inner v1 blob under the key's HBK: double encryption). See docs/blob-format.md.
 */
import { decodeKeyId, encodeKeyId, VERSION_ID_LENGTH } from '../hsm/ciphertext-blob.js';
import { canonicalEncryptionContext, type EncryptionContext } from '../hsm/encryption-context.js';
import { invalidCiphertext } from '../errors/aws-errors.js';
import type { CustomKeyStoreType } from './types.js';

export const CUSTOM_BLOB_VERSION = 0x02;
export const CUSTOM_HEADER_LENGTH = 2 + 16 + VERSION_ID_LENGTH + 1;

const TYPE_BYTE: Readonly<Record<CustomKeyStoreType, number>> = {
  AWS_CLOUDHSM: 0x01,
  EXTERNAL_KEY_STORE: 0x02,
};

export interface CustomBlob {
  keyId: string;
  versionId: string;
  storeType: CustomKeyStoreType;
  header: Buffer;
  payload: Buffer;
}

/** Whether a CiphertextBlob is a custom key store blob (by its first byte). */
export function isCustomBlob(blob: Buffer): boolean {
  return blob.length > 0 && blob[0] === CUSTOM_BLOB_VERSION;
}

export function encodeCustomHeader(
  keyId: string,
  versionId: string,
  storeType: CustomKeyStoreType,
): Buffer {
  const { kind, bytes } = encodeKeyId(keyId);
  const version = Buffer.from(versionId, 'hex');
  if (version.length !== VERSION_ID_LENGTH) throw new Error('bad backing key version id');
  return Buffer.concat([
    Buffer.from([CUSTOM_BLOB_VERSION, kind]),
    bytes,
    version,
    Buffer.from([TYPE_BYTE[storeType]]),
  ]);
}

/** Parse a v2 blob; any malformation is the opaque InvalidCiphertextException. */
export function decodeCustomBlob(blob: Buffer): CustomBlob {
  /* Precondition: a header and at least one payload byte. */
  if (blob.length <= CUSTOM_HEADER_LENGTH || blob[0] !== CUSTOM_BLOB_VERSION)
    throw invalidCiphertext();
  const kind = blob[1] as number;
  if (kind !== 0x00 && kind !== 0x01) throw invalidCiphertext();
  const typeByte = blob[CUSTOM_HEADER_LENGTH - 1];
  const storeType = (Object.keys(TYPE_BYTE) as CustomKeyStoreType[]).find(
    (t) => TYPE_BYTE[t] === typeByte,
  );
  if (storeType === undefined) throw invalidCiphertext();
  return {
    keyId: decodeKeyId(kind, blob.subarray(2, 18)),
    versionId: blob.subarray(18, 18 + VERSION_ID_LENGTH).toString('hex'),
    storeType,
    header: blob.subarray(0, CUSTOM_HEADER_LENGTH),
    payload: blob.subarray(CUSTOM_HEADER_LENGTH),
  };
}

/** AAD = header ‖ canonical encryption context (same canonical form as v1 blobs). */
export function customAad(header: Buffer, context: EncryptionContext | undefined): Buffer {
  return Buffer.concat([header, canonicalEncryptionContext(context)]);
}
