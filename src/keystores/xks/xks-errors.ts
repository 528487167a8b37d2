/**
 * What can go wrong talking to an XKS proxy, and what AWS KMS makes of it — one table.
 *
 * Sources: XKS Proxy API spec v1.0.3 §"Error codes" (the table of proxy failures × KMS
 * operation classes, with the exact KMS messages), devguide xks-troubleshooting.md
 * (connection error codes). Where the spec is silent the row says so in `note`; the
 * table is reproduced in docs/custom-key-stores.md ("External key stores").
 *
 * The proxy's own errorMessage is never forwarded to the caller (AWS logs it instead).
 */
import { kmsError, KmsError, type KmsErrorName } from '../../errors/aws-errors.js';

/** The error names an XKS proxy may answer with (spec §"Error codes"). */
export const XKS_PROXY_ERROR_NAMES = [
  'ValidationException',
  'InvalidStateException',
  'InvalidCiphertextException',
  'InvalidKeyUsageException',
  'AuthenticationFailedException',
  'AccessDeniedException',
  'KeyNotFoundException',
  'InvalidUriPathException',
  'ThrottlingException',
  'UnsupportedOperationException',
  'DependencyTimeoutException',
  'InternalException',
] as const;
export type XksProxyErrorName = (typeof XKS_PROXY_ERROR_NAMES)[number];

/** Failures that happen on keyhold's side of the wire. */
export type XksLocalFailure =
  /** TCP connect refused / no route / DNS. */
  | 'Unreachable'
  /** Certificate not trusted, name mismatch, protocol failure in the handshake. */
  | 'TlsFailure'
  /** No complete answer within the per-request timeout (250 ms as AWS). */
  | 'Timeout'
  /** Connection reset or closed mid-exchange. */
  | 'NetworkError'
  /** Not JSON, missing or mistyped fields, bad base64, an unknown errorName, a wrong length. */
  | 'MalformedResponse'
  /** GetHealthStatus: every external key manager instance is UNAVAILABLE. */
  | 'AllEkmUnavailable'
  /** Decrypt: what the proxy returned is not keyhold's inner ciphertext (or it fails). */
  | 'InvalidCiphertextFromProxy';

export type XksFailureKind = XksProxyErrorName | XksLocalFailure;

/** The KMS connection error codes an external key store can show (ConnectionErrorCodeType). */
export type XksConnectionErrorCode =
  | 'INVALID_CREDENTIALS'
  | 'NETWORK_ERRORS'
  | 'INTERNAL_ERROR'
  | 'XKS_PROXY_ACCESS_DENIED'
  | 'XKS_PROXY_NOT_REACHABLE'
  | 'XKS_PROXY_INVALID_CONFIGURATION'
  | 'XKS_PROXY_INVALID_RESPONSE'
  | 'XKS_PROXY_INVALID_TLS_CONFIGURATION'
  | 'XKS_PROXY_TIMED_OUT';

/** A failed proxy exchange; `errorMessage` is the proxy's text, for logs only. */
export class XksProxyFailure extends Error {
  constructor(
    readonly kind: XksFailureKind,
    readonly httpStatus?: number,
    readonly errorMessage?: string,
    options?: { cause?: unknown },
  ) {
    super(
      `XKS proxy failure: ${kind}${httpStatus === undefined ? '' : ` (HTTP ${httpStatus})`}`,
      options,
    );
    this.name = 'XksProxyFailure';
  }
}

interface Row {
  /** CreateCustomKeyStore / UpdateCustomKeyStore (GetHealthStatus). */
  manage: KmsErrorName;
  /** CreateKey (GetKeyMetadata). */
  createKey: KmsErrorName;
  /** ConnectCustomKeyStore outcome (and the periodic health check). */
  connection: XksConnectionErrorCode;
  /** The message KMS returns (spec wording); crypto operations use KMSInvalidStateException. */
  message: string;
}

const UNINTERPRETABLE =
  'AWS KMS cannot interpret the response from the external key store proxy. If you see this error repeatedly, report it to your external key store proxy administrator.';
const UNREACHABLE =
  'AWS KMS cannot communicate with the external key store proxy. This might be a transient network issue. If you see this error repeatedly, verify that your external key store proxy is active and is connected to the network, and that its endpoint URI is correct in your external keystore.';

/** The table (spec §"Error codes" columns: Create/Update key store, CreateKey, crypto). */
export const XKS_FAILURES: Readonly<Record<XksFailureKind, Row>> = {
  ValidationException: {
    manage: 'XksProxyInvalidResponseException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_INVALID_RESPONSE',
    message: UNINTERPRETABLE,
  },
  InvalidStateException: {
    // Spec: not applicable to management operations; keyhold treats a disabled key store
    // on the proxy as a configuration problem of the store.
    manage: 'XksProxyInvalidConfigurationException',
    createKey: 'XksKeyInvalidConfigurationException',
    connection: 'XKS_PROXY_INVALID_CONFIGURATION',
    message:
      'The external key associated with this KMS key in an external key store is not enabled in the external key manager. Enable the external key in the external key manager and retry the request.',
  },
  InvalidCiphertextException: {
    manage: 'XksProxyInvalidResponseException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_INVALID_RESPONSE',
    message:
      'The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid.',
  },
  InvalidKeyUsageException: {
    manage: 'XksProxyInvalidResponseException',
    createKey: 'XksKeyInvalidConfigurationException',
    connection: 'XKS_PROXY_INVALID_RESPONSE',
    message:
      'The external key associated with this KMS key in an external key store does not support the requested operation. Enable the operation on the key in your external key manager, and try the request again.',
  },
  AuthenticationFailedException: {
    manage: 'XksProxyIncorrectAuthenticationCredentialException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'INVALID_CREDENTIALS',
    message:
      'The external key store proxy rejected the request because it could not authenticate AWS KMS. Verify the XKS proxy authentication credentials for your external key store and update if necessary.',
  },
  AccessDeniedException: {
    manage: 'XksProxyInvalidConfigurationException',
    createKey: 'KMSInvalidStateException',
    connection: 'XKS_PROXY_ACCESS_DENIED',
    message:
      'The external key store proxy denied access to the operation. Verify that the user and the external key are both authorized for this operation, and try the request again.',
  },
  KeyNotFoundException: {
    manage: 'XksProxyInvalidResponseException',
    createKey: 'XksKeyNotFoundException',
    connection: 'XKS_PROXY_INVALID_RESPONSE',
    message:
      'The external key associated with this KMS key in an external key store was not found in its external key manager. If the external key ID associated with this KMS key is incorrect, create a new KMS key with the correct external key ID.',
  },
  InvalidUriPathException: {
    manage: 'XksProxyInvalidConfigurationException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_INVALID_CONFIGURATION',
    message:
      'The external key store proxy rejected the request because of an invalid URI path. Verify the URI path for your external key store and update if necessary.',
  },
  UnsupportedOperationException: {
    manage: 'XksProxyInvalidResponseException',
    // Spec: "XksKeyInvalidResponseException", a shape the KMS model does not have.
    createKey: 'XksKeyInvalidConfigurationException',
    connection: 'XKS_PROXY_INVALID_RESPONSE',
    message:
      'The external key store proxy rejected the request because it does not support the requested operation. If you see this error repeatedly, report it to your external key store proxy administrator.',
  },
  DependencyTimeoutException: {
    manage: 'XksProxyUriUnreachableException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_TIMED_OUT',
    message:
      'The external key store proxy did not respond to the request in the time allotted. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator.',
  },
  ThrottlingException: {
    manage: 'XksProxyUriUnreachableException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_NOT_REACHABLE',
    message:
      'The external key store proxy rejected the request due to a very high request rate. Reduce the frequency of your calls using KMS keys in this external key store.',
  },
  InternalException: {
    manage: 'XksProxyInvalidResponseException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_INVALID_RESPONSE',
    message:
      'The external key store proxy rejected the request because it cannot communicate with the external key manager. Verify that the external key store proxy configuration is correct and that the external key manager is available.',
  },
  Unreachable: {
    manage: 'XksProxyUriUnreachableException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_NOT_REACHABLE',
    message: UNREACHABLE,
  },
  TlsFailure: {
    manage: 'XksProxyUriUnreachableException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_INVALID_TLS_CONFIGURATION',
    message:
      'AWS KMS cannot establish a TLS connection to the external key store proxy. Verify the TLS configuration, including its certificate.',
  },
  Timeout: {
    manage: 'XksProxyUriUnreachableException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_TIMED_OUT',
    message:
      'AWS KMS rejected the request because the external key store proxy did not respond in time. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator.',
  },
  NetworkError: {
    manage: 'XksProxyUriUnreachableException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'NETWORK_ERRORS',
    message: UNREACHABLE,
  },
  MalformedResponse: {
    manage: 'XksProxyInvalidResponseException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_INVALID_RESPONSE',
    message: UNINTERPRETABLE,
  },
  AllEkmUnavailable: {
    manage: 'XksProxyUriUnreachableException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_NOT_REACHABLE',
    message:
      'The external key store proxy reports that all external key manager instances are unavailable. Verify that your external key manager instances are operating properly.',
  },
  InvalidCiphertextFromProxy: {
    manage: 'XksProxyInvalidResponseException',
    createKey: 'CustomKeyStoreInvalidStateException',
    connection: 'XKS_PROXY_INVALID_RESPONSE',
    message:
      'The ciphertext that the external key store proxy submitted for decryption, or the encryption context, is corrupted, missing, or otherwise invalid.',
  },
};

export type XksCallClass = 'manage' | 'createKey' | 'crypto';

function asFailure(err: unknown): XksProxyFailure | undefined {
  return err instanceof XksProxyFailure ? err : undefined;
}

/**
 * The KMS exception for a failed proxy call made on behalf of `callClass`. Errors that are
 * already KMS errors pass through; anything else is an internal fault.
 */
export function toKmsXksError(err: unknown, callClass: XksCallClass): KmsError {
  if (err instanceof KmsError) return err;
  const f = asFailure(err);
  if (f === undefined)
    return new KmsError('KMSInternalException', 'An internal error occurred.', { cause: err });
  const row = XKS_FAILURES[f.kind];
  const code: KmsErrorName =
    callClass === 'manage'
      ? row.manage
      : callClass === 'createKey'
        ? row.createKey
        : 'KMSInvalidStateException';
  return kmsError(code, row.message, err);
}

/** The ConnectionErrorCode a failed connect (or health check) leaves on the store. */
export function connectionErrorCode(err: unknown): XksConnectionErrorCode {
  const f = asFailure(err);
  return f === undefined ? 'INTERNAL_ERROR' : XKS_FAILURES[f.kind].connection;
}

/** Whether `name` is one of the spec's proxy error names. */
export function isXksProxyErrorName(name: unknown): name is XksProxyErrorName {
  return typeof name === 'string' && (XKS_PROXY_ERROR_NAMES as readonly string[]).includes(name);
}
