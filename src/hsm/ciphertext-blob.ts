/**
 * The symmetric ciphertext blob (format v1). Self-describing, so Decrypt needs no KeyId.
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
 * another key's blob, or a different context all fail authentication. See docs/blob-format.md.
 */
import { invalidCiphertext } from '../errors/aws-errors.js';

export const BLOB_VERSION = 0x01;
export const KEY_ID_UUID = 0x00;
export const KEY_ID_MRK = 0x01;
export const VERSION_ID_LENGTH = 32;
export const NONCE_LENGTH = 16;
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
export const HEADER_LENGTH = 2 + 16 + VERSION_ID_LENGTH + NONCE_LENGTH + IV_LENGTH;
export const BLOB_OVERHEAD = HEADER_LENGTH + TAG_LENGTH;

export interface BlobParts {
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

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MRK_RE = /^mrk-[0-9a-f]{32}$/;

/** Encode a key id into its kind byte + 16 bytes. Throws for ids keyhold never issues. */
export function encodeKeyId(keyId: string): { kind: number; bytes: Buffer } {
  if (UUID_RE.test(keyId))
    return { kind: KEY_ID_UUID, bytes: Buffer.from(keyId.replace(/-/g, ''), 'hex') };
  if (MRK_RE.test(keyId)) return { kind: KEY_ID_MRK, bytes: Buffer.from(keyId.slice(4), 'hex') };
  throw new Error('key id cannot be encoded in a ciphertext blob');
}

export function decodeKeyId(kind: number, bytes: Buffer): string {
  const hex = bytes.toString('hex');
  if (kind === KEY_ID_MRK) return `mrk-${hex}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Build the header for a new blob. */
export function encodeHeader(keyId: string, versionId: string, nonce: Buffer, iv: Buffer): Buffer {
  const { kind, bytes } = encodeKeyId(keyId);
  const version = Buffer.from(versionId, 'hex');
  if (
    version.length !== VERSION_ID_LENGTH ||
    nonce.length !== NONCE_LENGTH ||
    iv.length !== IV_LENGTH
  ) {
    throw new Error('bad blob header field length');
  }
  return Buffer.concat([Buffer.from([BLOB_VERSION, kind]), bytes, version, nonce, iv]);
}

/**
 * Parse a blob. Every malformation is the one opaque InvalidCiphertextException.
 * Parsing authenticates nothing: the AEAD check in hsm/ does.
 */
export function decodeBlob(blob: Buffer): BlobParts {
  /* Precondition: the blob holds at least a header and a tag. */
  if (blob.length < BLOB_OVERHEAD) throw invalidCiphertext();
  /* Precondition: the format version is one this build reads. */
  if (blob[0] !== BLOB_VERSION) throw invalidCiphertext();
  const kind = blob[1];
  /* Precondition: the key id kind is known. */
  if (kind !== KEY_ID_UUID && kind !== KEY_ID_MRK) throw invalidCiphertext();
  let o = 2;
  const keyId = decodeKeyId(kind, blob.subarray(o, (o += 16)));
  const versionId = blob.subarray(o, (o += VERSION_ID_LENGTH)).toString('hex');
  const nonce = blob.subarray(o, (o += NONCE_LENGTH));
  const iv = blob.subarray(o, (o += IV_LENGTH));
  return {
    keyId,
    versionId,
    nonce,
    iv,
    header: blob.subarray(0, HEADER_LENGTH),
    ciphertext: blob.subarray(HEADER_LENGTH, blob.length - TAG_LENGTH),
    tag: blob.subarray(blob.length - TAG_LENGTH),
  };
}

export function encodeBlob(header: Buffer, ciphertext: Buffer, tag: Buffer): Buffer {
  return Buffer.concat([header, ciphertext, tag]);
}
