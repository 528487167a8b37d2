/**
 * The KMS boundary of hsm/: hsm/ throws its own opaque HsmError (hsm/hsm-error.ts) and knows
 * no AWS error codes; here each kind becomes the AWS error KMS returns. The node's services
 * get the HSM through withAwsErrors, and Decrypt decodes blobs through decodeCiphertext, so
 * no HsmError reaches an operation, the audit log or the wire.
 */
import { decodeBlob, type ParsedBlob } from '../../hsm/ciphertext-blob.js';
import { HsmError } from '../../hsm/hsm-error.js';
import type { Hsm } from '../../hsm/hsm.js';
import { kmsError, toKmsError, type KmsError } from '../../errors/aws-errors.js';

/** The AWS error for an HsmError. */
export function awsErrorOf(err: HsmError): KmsError {
  switch (err.kind) {
    case 'integrity':
      // Empty for ciphertexts (AWS sends none; no oracle); AWS's text for imported material.
      return kmsError('InvalidCiphertextException', err.message, err);
    case 'invalid-token':
      return kmsError('InvalidImportTokenException', err.message, err);
    case 'invalid-key':
      return kmsError('IncorrectKeyMaterialException', err.message, err);
    case 'unavailable':
    case 'exhausted':
      // Faults of this node, not of the request: KMSInternalException, detail in the log only.
      return toKmsError(err);
  }
}

/** Rethrow an HsmError as its AWS error; anything else unchanged. */
export function rethrowAws(err: unknown): never {
  throw err instanceof HsmError ? awsErrorOf(err) : err;
}

/** Decode a CiphertextBlob (hsm/ciphertext-blob.ts) with KMS errors. */
export function decodeCiphertext(blob: Buffer): ParsedBlob {
  try {
    return decodeBlob(blob);
  } catch (err) {
    return rethrowAws(err);
  }
}

/** The HSM with every HsmError (thrown or rejected) mapped to its AWS error. */
export function withAwsErrors(hsm: Hsm): Hsm {
  // One wrapper per method, made once (the HSM is on every request's path).
  const wrapped = new Map<PropertyKey, (...a: unknown[]) => unknown>();
  return new Proxy(hsm, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(prop);
      if (fn === undefined) {
        const method = value as (...a: unknown[]) => unknown;
        fn = (...args: unknown[]): unknown => {
          let result: unknown;
          try {
            result = method.apply(target, args);
          } catch (err) {
            return rethrowAws(err);
          }
          return result instanceof Promise ? result.catch(rethrowAws) : result;
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
