/**
 * The AWS KMS error registry: every error keyhold returns on the KMS API is a KmsError whose
 * `code` is the AWS `__type`. This module sits below every layer and imports nothing, so hsm/,
 * authz/, storage/ and kms/ can all throw AWS-exact errors without depending on the protocol.
 * The HTTP status of each code and the wire encoding live in protocol/wire-errors.ts; an
 * empty message means AWS sends none, and the body then has no `message` member.
 */

/**
 * Code → fault, as the model marks it (`"fault": true` is a server fault). The KMS modeled
 * exceptions (model/kms-service-2.json) first, then the AWS front-end errors that every JSON
 * service returns and the KMS model does not list. test/unit/error-registry.test.ts keeps this
 * table equal to the model and to docs/errors.md.
 */
export const KMS_ERRORS = {
  AlreadyExistsException: 'client',
  CloudHsmClusterInUseException: 'client',
  CloudHsmClusterInvalidConfigurationException: 'client',
  CloudHsmClusterNotActiveException: 'client',
  CloudHsmClusterNotFoundException: 'client',
  CloudHsmClusterNotRelatedException: 'client',
  ConflictException: 'client',
  CustomKeyStoreHasCMKsException: 'client',
  CustomKeyStoreInvalidStateException: 'client',
  CustomKeyStoreNameInUseException: 'client',
  CustomKeyStoreNotFoundException: 'client',
  DependencyTimeoutException: 'server',
  DisabledException: 'client',
  DryRunOperationException: 'client',
  ExpiredImportTokenException: 'client',
  IncorrectKeyException: 'client',
  IncorrectKeyMaterialException: 'client',
  IncorrectTrustAnchorException: 'client',
  InvalidAliasNameException: 'client',
  InvalidArnException: 'client',
  InvalidCiphertextException: 'client',
  InvalidGrantIdException: 'client',
  InvalidGrantTokenException: 'client',
  InvalidImportTokenException: 'client',
  InvalidKeyUsageException: 'client',
  InvalidMarkerException: 'client',
  KMSInternalException: 'server',
  KMSInvalidMacException: 'client',
  KMSInvalidSignatureException: 'client',
  KMSInvalidStateException: 'client',
  KeyUnavailableException: 'server',
  LimitExceededException: 'client',
  MalformedPolicyDocumentException: 'client',
  NotFoundException: 'client',
  TagException: 'client',
  UnsupportedOperationException: 'client',
  XksKeyAlreadyInUseException: 'client',
  XksKeyInvalidConfigurationException: 'client',
  XksKeyNotFoundException: 'client',
  XksProxyIncorrectAuthenticationCredentialException: 'client',
  XksProxyInvalidConfigurationException: 'client',
  XksProxyInvalidResponseException: 'client',
  XksProxyUriEndpointInUseException: 'client',
  XksProxyUriInUseException: 'client',
  XksProxyUriUnreachableException: 'client',
  XksProxyVpcEndpointServiceInUseException: 'client',
  XksProxyVpcEndpointServiceInvalidConfigurationException: 'client',
  XksProxyVpcEndpointServiceNotFoundException: 'client',
  // AWS front-end (not in the KMS model, returned by every JSON service)
  AccessDeniedException: 'client',
  ExpiredTokenException: 'client',
  IncompleteSignatureException: 'client',
  InvalidSignatureException: 'client',
  MissingAuthenticationTokenException: 'client',
  RequestEntityTooLargeException: 'client',
  SerializationException: 'client',
  ThrottlingException: 'client',
  UnknownOperationException: 'client',
  UnrecognizedClientException: 'client',
  ValidationException: 'client',
} as const satisfies Record<string, 'client' | 'server'>;

export type KmsErrorName = keyof typeof KMS_ERRORS;

/** Every code, in the table's order. */
export const KMS_ERROR_NAMES = Object.keys(KMS_ERRORS) as readonly KmsErrorName[];

/** One base error for everything keyhold returns on the KMS wire. */
export class KmsError extends Error {
  readonly code: KmsErrorName;
  readonly fault: 'client' | 'server';

  constructor(code: KmsErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = code;
    this.code = code;
    this.fault = KMS_ERRORS[code];
  }
}

/** Shorthand used across the code: `throw kmsError('NotFoundException', ...)`. */
export function kmsError(code: KmsErrorName, message: string, cause?: unknown): KmsError {
  return new KmsError(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Every decrypt failure collapses to this one opaque error (no oracle). AWS sends it with no
 * message; an empty message leaves the `message` member out of the body.
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
