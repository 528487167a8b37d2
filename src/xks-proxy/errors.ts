/**
 * The XKS proxy's error names and HTTP statuses, from the error table of the XKS Proxy API
 * spec v1.0.3 ("Error codes"). Mapped to the wire in exactly one place (server.ts) as
 * `{"errorName": ..., "errorMessage": ...}`.
 */

/** errorName → HTTP status, as the spec's table lists them. */
export const XKS_ERROR_STATUS = {
  ValidationException: 400,
  InvalidStateException: 400,
  InvalidCiphertextException: 400,
  InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401,
  AccessDeniedException: 403,
  KeyNotFoundException: 404,
  InvalidUriPathException: 404,
  ThrottlingException: 429,
  InternalException: 500,
  UnsupportedOperationException: 501,
  DependencyTimeoutException: 503,
} as const;

export type XksErrorName = keyof typeof XKS_ERROR_STATUS;

export class XksError extends Error {
  readonly errorName: XksErrorName;
  readonly status: number;

  constructor(errorName: XksErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XksError';
    this.errorName = errorName;
    this.status = XKS_ERROR_STATUS[errorName];
  }
}

export function xksError(name: XksErrorName, message: string, cause?: unknown): XksError {
  return new XksError(name, message, cause === undefined ? undefined : { cause });
}

/**
 * The wire body. Spec: errorMessage is optional, shorter than 512 characters and printable
 * ASCII (0x20–0x7e) only.
 */
export function errorBody(err: XksError): { errorName: XksErrorName; errorMessage: string } {
  const printable = err.message.replace(/[^\x20-\x7e]/g, '?');
  return { errorName: err.errorName, errorMessage: printable.slice(0, 511) };
}
