/**
 * The one error hsm/ throws on purpose: opaque, with a kind, and no AWS error code (hsm/ does
 * not know the KMS API). kms/crypto/hsm-errors.ts maps it to the AWS error at the KMS boundary.
 *
 *   integrity      a ciphertext, blob or wrapped key does not parse or authenticate
 *   invalid-token  an import token (sealed wrapping key) does not open
 *   invalid-key    imported key material is not material of the key's spec
 *   unavailable    a domain key the call needs is not loaded (yet)
 *   exhausted      a key's AES-GCM invocation budget is spent (gcm-budget.ts)
 *
 * `message` is empty for `integrity` failures of ciphertexts (no oracle); where AWS sends
 * a message (imported material), it is AWS's text.
 */
export type HsmErrorKind =
  'integrity' | 'invalid-token' | 'invalid-key' | 'unavailable' | 'exhausted';

export class HsmError extends Error {
  readonly kind: HsmErrorKind;

  constructor(kind: HsmErrorKind, message = '', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HsmError';
    this.kind = kind;
  }
}
