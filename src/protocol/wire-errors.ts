/**
 * Errors on the wire, in exactly one place: the HTTP status of every KMS and IAM/STS error
 * code, and the AWS JSON 1.1 error envelope. The codes themselves are in src/errors/.
 */
import type { KmsError, KmsErrorName } from '../errors/aws-errors.js';
import type { IamError, IamErrorCode } from '../errors/iam-errors.js';

/**
 * KMS code → HTTP status. Real KMS answers 400 for every client fault (the model names no
 * other status), 403 for a missing token, 413 for a body past the front end's limit, 500/503
 * for server faults. A Record over the whole union, so a new code cannot go without one.
 */
export const KMS_HTTP_STATUS: Readonly<Record<KmsErrorName, number>> = {
  AlreadyExistsException: 400,
  CloudHsmClusterInUseException: 400,
  CloudHsmClusterInvalidConfigurationException: 400,
  CloudHsmClusterNotActiveException: 400,
  CloudHsmClusterNotFoundException: 400,
  CloudHsmClusterNotRelatedException: 400,
  ConflictException: 400,
  CustomKeyStoreHasCMKsException: 400,
  CustomKeyStoreInvalidStateException: 400,
  CustomKeyStoreNameInUseException: 400,
  CustomKeyStoreNotFoundException: 400,
  DependencyTimeoutException: 503,
  DisabledException: 400,
  DryRunOperationException: 400,
  ExpiredImportTokenException: 400,
  IncorrectKeyException: 400,
  IncorrectKeyMaterialException: 400,
  IncorrectTrustAnchorException: 400,
  InvalidAliasNameException: 400,
  InvalidArnException: 400,
  InvalidCiphertextException: 400,
  InvalidGrantIdException: 400,
  InvalidGrantTokenException: 400,
  InvalidImportTokenException: 400,
  InvalidKeyUsageException: 400,
  InvalidMarkerException: 400,
  KMSInternalException: 500,
  KMSInvalidMacException: 400,
  KMSInvalidSignatureException: 400,
  KMSInvalidStateException: 400,
  KeyUnavailableException: 500,
  LimitExceededException: 400,
  MalformedPolicyDocumentException: 400,
  NotFoundException: 400,
  TagException: 400,
  UnsupportedOperationException: 400,
  XksKeyAlreadyInUseException: 400,
  XksKeyInvalidConfigurationException: 400,
  XksKeyNotFoundException: 400,
  XksProxyIncorrectAuthenticationCredentialException: 400,
  XksProxyInvalidConfigurationException: 400,
  XksProxyInvalidResponseException: 400,
  XksProxyUriEndpointInUseException: 400,
  XksProxyUriInUseException: 400,
  XksProxyUriUnreachableException: 400,
  XksProxyVpcEndpointServiceInUseException: 400,
  XksProxyVpcEndpointServiceInvalidConfigurationException: 400,
  XksProxyVpcEndpointServiceNotFoundException: 400,
  AccessDeniedException: 400,
  ExpiredTokenException: 400,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 400,
  MissingAuthenticationTokenException: 403,
  RequestEntityTooLargeException: 413,
  SerializationException: 400,
  ThrottlingException: 400,
  UnknownOperationException: 400,
  UnrecognizedClientException: 400,
  ValidationException: 400,
};

/** IAM/STS code → HTTP status (IAM API Reference "Common Errors", STS action errors). */
export const IAM_HTTP_STATUS: Readonly<Record<IamErrorCode, number>> = {
  AccessDenied: 403,
  EntityAlreadyExists: 409,
  NoSuchEntity: 404,
  MalformedPolicyDocument: 400,
  ValidationError: 400,
  LimitExceeded: 409,
  DeleteConflict: 409,
  InvalidAction: 400,
  MissingAction: 400,
  InvalidParameterValue: 400,
  InvalidClientTokenId: 403,
  SignatureDoesNotMatch: 403,
  IncompleteSignature: 400,
  MissingAuthenticationToken: 403,
  ExpiredToken: 400,
  RegionDisabledException: 403,
  InternalFailure: 500,
};

export function httpStatus(err: KmsError): number {
  return KMS_HTTP_STATUS[err.code];
}

export function iamHttpStatus(err: IamError): number {
  return IAM_HTTP_STATUS[err.code];
}

/**
 * The error envelope. An error AWS sends without a message (InvalidCiphertextException,
 * KMSInvalidSignatureException, ...) is a KmsError with an empty message, and its body has
 * no `message` member at all: not an empty one, as SDKs and botocore show either differently.
 */
export function errorBody(err: KmsError): string {
  return JSON.stringify(
    err.message === '' ? { __type: err.code } : { __type: err.code, message: err.message },
  );
}
