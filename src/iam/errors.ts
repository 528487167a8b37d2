/**
 * IAM/STS errors, with the codes and HTTP statuses the IAM and STS Query APIs use
 * (IAM API Reference "Common Errors" and each action's Errors section).
 */
import { KmsError } from '../protocol/errors.js';

const STATUS = {
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
} as const;

export type IamErrorCode = keyof typeof STATUS;

export class IamError extends Error {
  readonly code: IamErrorCode;
  readonly status: number;
  readonly type: 'Sender' | 'Receiver';

  constructor(code: IamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = code;
    this.code = code;
    this.status = STATUS[code];
    this.type = this.status >= 500 ? 'Receiver' : 'Sender';
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
