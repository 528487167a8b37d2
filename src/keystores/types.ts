/**
 * Custom key store records and enums (no I/O). Shapes and values from the KMS model
 * (ConnectionStateType, ConnectionErrorCodeType, CustomKeyStoreType, XksProxyConnectivityType).
 */

export const CUSTOM_KEY_STORE_TYPES = ['AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;
export type CustomKeyStoreType = (typeof CUSTOM_KEY_STORE_TYPES)[number];

export const CONNECTION_STATES = [
  'CONNECTED',
  'CONNECTING',
  'FAILED',
  'DISCONNECTED',
  'DISCONNECTING',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

export const CONNECTION_ERROR_CODES = [
  'INVALID_CREDENTIALS',
  'CLUSTER_NOT_FOUND',
  'NETWORK_ERRORS',
  'INTERNAL_ERROR',
  'INSUFFICIENT_CLOUDHSM_HSMS',
  'USER_LOCKED_OUT',
  'USER_NOT_FOUND',
  'USER_LOGGED_IN',
  'SUBNET_NOT_FOUND',
  'INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET',
  'XKS_PROXY_ACCESS_DENIED',
  'XKS_PROXY_NOT_REACHABLE',
  'XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND',
  'XKS_PROXY_INVALID_RESPONSE',
  'XKS_PROXY_INVALID_CONFIGURATION',
  'XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION',
  'XKS_PROXY_TIMED_OUT',
  'XKS_PROXY_INVALID_TLS_CONFIGURATION',
] as const;
export type ConnectionErrorCode = (typeof CONNECTION_ERROR_CODES)[number];

export type XksProxyConnectivity = 'PUBLIC_ENDPOINT' | 'VPC_ENDPOINT_SERVICE';

/** An external key store's proxy settings (the credential's secret is sealed apart). */
export interface XksProxySettings {
  connectivity: XksProxyConnectivity;
  /** `https://host[:port]` as given (XksProxyUriEndpoint). */
  uriEndpoint: string;
  /** e.g. `/example/kms/xks/v1` (XksProxyUriPath). */
  uriPath: string;
  vpcEndpointServiceName?: string | undefined;
  vpcEndpointServiceOwner?: string | undefined;
  /** XksProxyAuthenticationCredential.AccessKeyId (returned by DescribeCustomKeyStores). */
  accessKeyId: string;
}

/** A CloudHSM-type store's settings (KeyStorePassword is the sealed secret). */
export interface CloudHsmSettings {
  /** Names a cluster in keyhold's config (`cloudHsmClusters`). */
  clusterId: string;
  /** PEM, checked as an X.509 certificate and returned as given. */
  trustAnchorCertificate: string;
}

/**
 * A custom key store as stored. `sealedSecret` is the secret the connector needs, sealed
 * with `hsm.sealSecret(secretLabel(id), ...)`: the kmsuser PIN (KeyStorePassword) for
 * AWS_CLOUDHSM, the RawSecretAccessKey for EXTERNAL_KEY_STORE. `sealedPendingSecret` holds a
 * PIN that a connect is about to set (C_SetPIN) so a crash between the token change and the
 * store update does not lose it.
 */
export interface CustomKeyStoreRecord {
  region: string;
  accountId: string;
  customKeyStoreId: string;
  name: string;
  type: CustomKeyStoreType;
  connectionState: ConnectionState;
  /** Only when FAILED. */
  connectionErrorCode?: ConnectionErrorCode | undefined;
  creationDate: Date;
  cloudHsm?: CloudHsmSettings | undefined;
  xks?: XksProxySettings | undefined;
  sealedSecret: Buffer;
  sealedPendingSecret?: Buffer | undefined;
  /** Optimistic-concurrency counter, bumped by every update. */
  revision: number;
}

/** Which store holds a KMS key, and the key's reference inside that store. */
export interface CustomKeyStoreKeyRecord {
  region: string;
  keyId: string;
  customKeyStoreId: string;
  /**
   * AWS_CLOUDHSM: the token object's CKA_ID (hex), shown as backingKeyId in audit;
   * EXTERNAL_KEY_STORE: the XksKeyId.
   */
  backingKeyId: string;
  createdAt: Date;
}

/** The label a store's secret is sealed under (binds the sealed bytes to the store id). */
export function secretLabel(customKeyStoreId: string): string {
  return `custom-key-store:${customKeyStoreId}`;
}
