/**
 * Typed KMS errors, mapped to the wire in exactly one place (handle-request.ts errorBody).
 * Every error keyhold returns is a KmsError whose `code` is the AWS `__type`; an empty
 * message means AWS sends none, and the body then has no `message` member.
 */

/** Status codes per error name. Real KMS answers 400 for client faults (reference 01 §2). */
const SERVER_FAULTS = {
  KMSInternalException: 500,
  KeyUnavailableException: 500,
  DependencyTimeoutException: 503,
  InternalFailure: 500,
} as const;

/** Front-end errors that AWS returns with a non-400 status. */
const FRONTEND_STATUS = {
  MissingAuthenticationTokenException: 403,
  UnrecognizedClientException: 400,
  InvalidSignatureException: 400,
  IncompleteSignatureException: 400,
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  UnknownOperationException: 400,
  SerializationException: 400,
  ValidationException: 400,
  ThrottlingException: 400,
  RequestEntityTooLargeException: 413,
} as const;

/** The KMS modeled exceptions (reference 01 §4) plus the AWS front-end errors. */
export const KMS_ERROR_NAMES = [
  'AlreadyExistsException',
  'CloudHsmClusterInUseException',
  'CloudHsmClusterInvalidConfigurationException',
  'CloudHsmClusterNotActiveException',
  'CloudHsmClusterNotFoundException',
  'CloudHsmClusterNotRelatedException',
  'ConflictException',
  'CustomKeyStoreHasCMKsException',
  'CustomKeyStoreInvalidStateException',
  'CustomKeyStoreNameInUseException',
  'CustomKeyStoreNotFoundException',
  'DependencyTimeoutException',
  'DisabledException',
  'DryRunOperationException',
  'ExpiredImportTokenException',
  'IncorrectKeyException',
  'IncorrectKeyMaterialException',
  'IncorrectTrustAnchorException',
  'InvalidAliasNameException',
  'InvalidArnException',
  'InvalidCiphertextException',
  'InvalidGrantIdException',
  'InvalidGrantTokenException',
  'InvalidImportTokenException',
  'InvalidKeyUsageException',
  'InvalidMarkerException',
  'KMSInternalException',
  'KMSInvalidMacException',
  'KMSInvalidSignatureException',
  'KMSInvalidStateException',
  'KeyUnavailableException',
  'LimitExceededException',
  'MalformedPolicyDocumentException',
  'NotFoundException',
  'TagException',
  'UnsupportedOperationException',
  'XksKeyAlreadyInUseException',
  'XksKeyInvalidConfigurationException',
  'XksKeyNotFoundException',
  'XksProxyIncorrectAuthenticationCredentialException',
  'XksProxyInvalidConfigurationException',
  'XksProxyInvalidResponseException',
  'XksProxyUriEndpointInUseException',
  'XksProxyUriInUseException',
  'XksProxyUriUnreachableException',
  'XksProxyVpcEndpointServiceInUseException',
  'XksProxyVpcEndpointServiceInvalidConfigurationException',
  'XksProxyVpcEndpointServiceNotFoundException',
  // AWS front-end (not in the KMS model, returned by every JSON service)
  'AccessDeniedException',
  'ExpiredTokenException',
  'IncompleteSignatureException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'RequestEntityTooLargeException',
  'SerializationException',
  'ThrottlingException',
  'UnknownOperationException',
  'UnrecognizedClientException',
  'ValidationException',
] as const;

export type KmsErrorName = (typeof KMS_ERROR_NAMES)[number];

/** One base error for everything keyhold returns on the wire. */
export class KmsError extends Error {
  readonly code: KmsErrorName;
  readonly status: number;
  readonly fault: 'client' | 'server';

  constructor(code: KmsErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = code;
    this.code = code;
    const serverStatus = (SERVER_FAULTS as Record<string, number>)[code];
    this.fault = serverStatus !== undefined ? 'server' : 'client';
    this.status = serverStatus ?? (FRONTEND_STATUS as Record<string, number>)[code] ?? 400;
  }
}

/** Shorthand used across the code: `throw kmsError('NotFoundException', ...)`. */
export function kmsError(code: KmsErrorName, message: string, cause?: unknown): KmsError {
  return new KmsError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Every decrypt failure collapses to this one opaque error (no oracle). AWS sends it with no
 * message; an empty message leaves the `message` member out of the body (handle-request.ts).
 */
export function invalidCiphertext(cause?: unknown): KmsError {
  return kmsError('InvalidCiphertextException', '', cause);
}

/** Internal failures leave as KMSInternalException carrying nothing but the request id. */
export function toKmsError(err: unknown): KmsError {
  if (err instanceof KmsError) return err;
  return new KmsError('KMSInternalException', 'An internal error occurred.', { cause: err });
}

/** A member the model marks optional but the operation needs (AWS's Coral wording). */
export function missingMember(path: string): KmsError {
  return kmsError(
    'ValidationException',
    `1 validation error detected: Value null at '${path}' failed to satisfy constraint: Member must not be null`,
  );
}
