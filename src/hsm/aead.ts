import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** AES-256-GCM with a 12-byte random IV and a 16-byte tag. Output: iv || ciphertext || tag. */
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;

export function sealGcm(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Throws on any authentication failure; callers collapse that into their own error. */
export function openGcm(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV_LENGTH + TAG_LENGTH) throw new Error('sealed value too short');
  const iv = sealed.subarray(0, IV_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const out = decipher.update(sealed.subarray(IV_LENGTH, sealed.length - TAG_LENGTH));
  decipher.final();
  return out;
}
