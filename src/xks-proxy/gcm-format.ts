/**
 * How the proxy feeds AES-GCM and what it hands back, per the XKS spec:
 * - the AAD given to the HSM is `uint16_be(len(aad)) || aad || uint8(len(ctm)) || ctm`
 *   (spec, Encrypt: "recommended" construction, so that ciphertextMetadata is covered by
 *   the tag; missing fields count as empty);
 * - the ciphertextDataIntegrityValue is `SHA-256(aad || ctm || iv || ciphertext || tag)` over
 *   the decoded bytes, absent fields empty, no lengths (spec Appendix C).
 */
import { createHash } from 'node:crypto';

/**
 * ciphertextMetadata this proxy returns: a format marker (≤ 20 bytes, spec limit) so that
 * a later proxy version can change the AAD construction and still decrypt old ciphertexts.
 */
export const CIPHERTEXT_METADATA_V1 = Buffer.from('kh-xks-1', 'ascii');

export function hsmAad(aad: Buffer, ciphertextMetadata: Buffer): Buffer {
  if (aad.length > 0xffff) throw new RangeError('AAD longer than 65535 bytes');
  if (ciphertextMetadata.length > 0xff)
    throw new RangeError('ciphertextMetadata longer than 255 bytes');
  const a = Buffer.alloc(2);
  a.writeUInt16BE(aad.length);
  return Buffer.concat([a, aad, Buffer.from([ciphertextMetadata.length]), ciphertextMetadata]);
}

export function ciphertextDataIntegrityValue(parts: {
  aad: Buffer;
  ciphertextMetadata: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}): Buffer {
  return createHash('sha256')
    .update(parts.aad)
    .update(parts.ciphertextMetadata)
    .update(parts.iv)
    .update(parts.ciphertext)
    .update(parts.tag)
    .digest();
}
