/**
 * The symmetric CiphertextBlob codec: the one owner of the wire format (docs/blob-format.md).
 * A blob is decoded once, by its version byte, into a ParsedBlob; everything after that
 * (key lookup, the HSM, the custom key store connectors) takes the parsed value.
 *
 * Format v1, keyhold's own blob (a key whose material is in keyhold's HSM):
 *
 *   offset  size  field
 *   0       1     format version (0x01)
 *   1       1     key id kind (0x00 UUID key id, 0x01 multi-Region `mrk-` key id)
 *   2       16    key id (UUID bytes, or the 32 hex digits after `mrk-`)
 *   18      32    backing key version id (the HBK version; shown as KeyMaterialId)
 *   50      16    KDF nonce (fresh per call; derives the one-time data encryption key)
 *   66      12    AES-GCM IV
 *   78      n     ciphertext
 *   78+n    16    AES-GCM tag
 *
 * The AAD is header (bytes 0..77) || canonical encryption context, so a changed header,
 * another key's blob, or a different context all fail authentication.
 *
 * Format v2, a key in a custom key store: the same key id and version fields, then the store
 * type, then the connector's payload:
 *
 *   0       1     format version (0x02: custom key store)
 *   1       1     key id kind (0x00 UUID key id; custom store keys are never multi-Region)
 *   2       16    key id
 *   18      32    backing key version id (CurrentKeyMaterialId / KeyMaterialId)
 *   50      1     store type (0x01 AWS_CLOUDHSM, 0x02 EXTERNAL_KEY_STORE)
 *   51      n     connector payload (n >= 1)
 *
 * AAD given to the connector = bytes 0..50 (the header) || canonical encryption context.
 * AWS_CLOUDHSM payload: IV (12) || ciphertext || GCM tag (16), made by CKM_AES_GCM in the
 * token. EXTERNAL_KEY_STORE payload: defined in keystores/xks/double-encryption.ts (the
 * proxy's AES_GCM of keyhold's own inner v1 blob under the key's HBK: double encryption).
 *
 * Parsing authenticates nothing (the AEAD check in hsm/ or the connector does); every
 * malformation is the one opaque HsmError('integrity') (InvalidCiphertextException at the
 * KMS boundary, kms/crypto/hsm-errors.ts).
 */
import { HsmError } from './hsm-error.js';
import { canonicalEncryptionContext, type EncryptionContext } from './encryption-context.js';

export const BLOB_VERSION = 0x01;
export const CUSTOM_BLOB_VERSION = 0x02;
export const KEY_ID_UUID = 0x00;
export const KEY_ID_MRK = 0x01;
export const VERSION_ID_LENGTH = 32;
export const NONCE_LENGTH = 16;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
/** Version, key id kind, key id, backing key version id: the prefix v1 and v2 share. */
const KEY_FIELDS_LENGTH = 2 + 16 + VERSION_ID_LENGTH;
export const HEADER_LENGTH = KEY_FIELDS_LENGTH + NONCE_LENGTH + IV_LENGTH;
export const BLOB_OVERHEAD = HEADER_LENGTH + TAG_LENGTH;
export const CUSTOM_HEADER_LENGTH = KEY_FIELDS_LENGTH + 1;

/** The custom key store types a v2 blob names (the model's CustomKeyStoreType). */
export type BlobStoreType = 'AWS_CLOUDHSM' | 'EXTERNAL_KEY_STORE';

const STORE_TYPE_BYTE: Readonly<Record<BlobStoreType, number>> = {
  AWS_CLOUDHSM: 0x01,
  EXTERNAL_KEY_STORE: 0x02,
};

/** A v1 blob: what the HSM opens. */
export interface SymmetricBlob {
  version: 1;
  keyId: string;
  /** 64 lowercase hex digits. */
  versionId: string;
  nonce: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
  /** The header bytes exactly as they appear in the blob (part of the AAD). */
  header: Buffer;
}

/** A v2 blob: what a custom key store connector opens. */
export interface CustomStoreBlob {
  version: 2;
  keyId: string;
  versionId: string;
  storeType: BlobStoreType;
  /** The header bytes exactly as they appear in the blob (part of the AAD). */
  header: Buffer;
  payload: Buffer;
}

export type ParsedBlob = SymmetricBlob | CustomStoreBlob;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MRK_RE = /^mrk-[0-9a-f]{32}$/;

/** Encode a key id into its kind byte + 16 bytes. Throws for ids keyhold never issues. */
function encodeKeyId(keyId: string): { kind: number; bytes: Buffer } {
  if (UUID_RE.test(keyId))
    return { kind: KEY_ID_UUID, bytes: Buffer.from(keyId.replace(/-/g, ''), 'hex') };
  if (MRK_RE.test(keyId)) return { kind: KEY_ID_MRK, bytes: Buffer.from(keyId.slice(4), 'hex') };
  throw new Error('key id cannot be encoded in a ciphertext blob');
}

function decodeKeyId(kind: number, bytes: Buffer): string {
  const hex = bytes.toString('hex');
  if (kind === KEY_ID_MRK) return `mrk-${hex}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Format version, key id kind, key id, backing key version id. */
function encodeKeyFields(format: number, keyId: string, versionId: string): Buffer {
  const { kind, bytes } = encodeKeyId(keyId);
  const version = Buffer.from(versionId, 'hex');
  if (version.length !== VERSION_ID_LENGTH) throw new Error('bad backing key version id');
  return Buffer.concat([Buffer.from([format, kind]), bytes, version]);
}

/** Build the header of a new v1 blob. */
export function encodeHeader(keyId: string, versionId: string, nonce: Buffer, iv: Buffer): Buffer {
  if (nonce.length !== NONCE_LENGTH || iv.length !== IV_LENGTH)
    throw new Error('bad blob header field length');
  return Buffer.concat([encodeKeyFields(BLOB_VERSION, keyId, versionId), nonce, iv]);
}

/** A v1 blob from its header and the AES-GCM output. */
export function encodeBlob(header: Buffer, ciphertext: Buffer, tag: Buffer): Buffer {
  return Buffer.concat([header, ciphertext, tag]);
}

/** Build the header of a new v2 blob; the blob is header ‖ connector payload. */
export function encodeCustomHeader(
  keyId: string,
  versionId: string,
  storeType: BlobStoreType,
): Buffer {
  return Buffer.concat([
    encodeKeyFields(CUSTOM_BLOB_VERSION, keyId, versionId),
    Buffer.from([STORE_TYPE_BYTE[storeType]]),
  ]);
}

/** A v2 blob from its header and the connector's payload. */
export function encodeCustomBlob(header: Buffer, payload: Buffer): Buffer {
  return Buffer.concat([header, payload]);
}

/** AAD = header ‖ canonical encryption context (both formats; the HSM builds v1's itself). */
export function blobAad(header: Buffer, context: EncryptionContext | undefined): Buffer {
  return Buffer.concat([header, canonicalEncryptionContext(context)]);
}

/**
 * Decode a CiphertextBlob by its version byte. Every malformation (too short, unknown
 * version, key id kind or store type) is the one opaque HsmError('integrity').
 */
export function decodeBlob(blob: Buffer): ParsedBlob {
  /* Precondition: the key fields both formats share are present. */
  if (blob.length < KEY_FIELDS_LENGTH) throw malformed();
  const kind = blob[1] as number;
  /* Precondition: the key id kind is known. */
  if (kind !== KEY_ID_UUID && kind !== KEY_ID_MRK) throw malformed();
  const keyId = decodeKeyId(kind, blob.subarray(2, 18));
  const versionId = blob.subarray(18, KEY_FIELDS_LENGTH).toString('hex');
  switch (blob[0]) {
    case BLOB_VERSION: {
      /* Precondition: the blob holds at least a header and a tag. */
      if (blob.length < BLOB_OVERHEAD) throw malformed();
      let o = KEY_FIELDS_LENGTH;
      const nonce = blob.subarray(o, (o += NONCE_LENGTH));
      const iv = blob.subarray(o, (o += IV_LENGTH));
      return {
        version: 1,
        keyId,
        versionId,
        nonce,
        iv,
        header: blob.subarray(0, HEADER_LENGTH),
        ciphertext: blob.subarray(HEADER_LENGTH, blob.length - TAG_LENGTH),
        tag: blob.subarray(blob.length - TAG_LENGTH),
      };
    }
    case CUSTOM_BLOB_VERSION: {
      /* Precondition: a header and at least one payload byte. */
      if (blob.length <= CUSTOM_HEADER_LENGTH) throw malformed();
      const typeByte = blob[CUSTOM_HEADER_LENGTH - 1];
      const storeType = (Object.keys(STORE_TYPE_BYTE) as BlobStoreType[]).find(
        (t) => STORE_TYPE_BYTE[t] === typeByte,
      );
      /* Precondition: the store type is known. */
      if (storeType === undefined) throw malformed();
      return {
        version: 2,
        keyId,
        versionId,
        storeType,
        header: blob.subarray(0, CUSTOM_HEADER_LENGTH),
        payload: blob.subarray(CUSTOM_HEADER_LENGTH),
      };
    }
    default:
      /* Precondition: the format version is one this build reads. */
      throw malformed();
  }
}

/** Decode a blob that must be v1 (the inner blob of double encryption, HSM-level tools). */
export function decodeSymmetricBlob(blob: Buffer): SymmetricBlob {
  const parsed = decodeBlob(blob);
  /* Precondition: a v1 blob. */
  if (parsed.version !== 1) throw malformed();
  return parsed;
}

function malformed(): HsmError {
  return new HsmError('integrity');
}
