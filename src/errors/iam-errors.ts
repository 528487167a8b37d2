/**
 * The IAM/STS error registry: the codes the IAM and STS Query APIs use (IAM API Reference
 * "Common Errors" and each action's Errors section), each with its SOAP-style fault type.
 * Like aws-errors.ts it sits below every layer; the HTTP status of each code is in
 * protocol/wire-errors.ts.
 */
import { KmsError } from './aws-errors.js';

/** Code → fault type as the Query APIs send it in `<Error><Type>`. */
export const IAM_ERRORS = {
  AccessDenied: 'Sender',
  EntityAlreadyExists: 'Sender',
  NoSuchEntity: 'Sender',
  MalformedPolicyDocument: 'Sender',
  ValidationError: 'Sender',
  LimitExceeded: 'Sender',
  DeleteConflict: 'Sender',
  InvalidAction: 'Sender',
  MissingAction: 'Sender',
  InvalidParameterValue: 'Sender',
  InvalidClientTokenId: 'Sender',
  SignatureDoesNotMatch: 'Sender',
  IncompleteSignature: 'Sender',
  MissingAuthenticationToken: 'Sender',
  ExpiredToken: 'Sender',
  RegionDisabledException: 'Sender',
  InternalFailure: 'Receiver',
} as const satisfies Record<string, 'Sender' | 'Receiver'>;

export type IamErrorCode = keyof typeof IAM_ERRORS;

export const IAM_ERROR_CODES = Object.keys(IAM_ERRORS) as readonly IamErrorCode[];

export class IamError extends Error {
  readonly code: IamErrorCode;
  readonly type: 'Sender' | 'Receiver';

  constructor(code: IamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = code;
    this.code = code;
    this.type = IAM_ERRORS[code];
  }
}

export function iamError(code: IamErrorCode, message: string): IamError {
  return new IamError(code, message);
}

/** The KMS front-end errors of authentication, renamed to their STS/IAM Query codes. */
const FROM_KMS: Readonly<Record<string, IamErrorCode>> = {
  UnrecognizedClientException: 'InvalidClientTokenId',
  InvalidSignatureException: 'SignatureDoesNotMatch',
  IncompleteSignatureException: 'IncompleteSignature',
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  ExpiredTokenException: 'ExpiredToken',
  AccessDeniedException: 'AccessDenied',
  MalformedPolicyDocumentException: 'MalformedPolicyDocument',
  ValidationException: 'ValidationError',
};

export function toIamError(err: unknown): IamError {
  if (err instanceof IamError) return err;
  if (err instanceof KmsError) {
    const code = FROM_KMS[err.code];
    if (code !== undefined) return new IamError(code, err.message, { cause: err });
  }
  return new IamError('InternalFailure', 'An internal error occurred.', { cause: err });
}
