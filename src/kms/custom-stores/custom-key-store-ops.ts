/**
 * What the six custom key store operations share: loading a store of the caller's account,
 * the DescribeCustomKeyStores entry, the create/update parameter rules per store type
 * (the API model and the KMS Developer Guide's custom key store pages), and uniqueness across stores.
 */
import { randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { CustomKeyStoresListEntry } from '@aws-sdk/client-kms';
import { kmsError } from '../../errors/aws-errors.js';
import type { CustomKeyStoreService } from '../../keystores/service.js';
import type {
  CustomKeyStoreRecord,
  CustomKeyStoreType,
  XksProxySettings,
} from '../../keystores/types.js';
import type { RequestContext } from '../context.js';

/** AWS's quota: 10 custom key stores per account and Region, both types, not adjustable. */
export const MAX_CUSTOM_KEY_STORES = 10;

export function requireStores(ctx: RequestContext): CustomKeyStoreService {
  const s = ctx.services.customKeyStores;
  if (s === undefined)
    throw kmsError(
      'UnsupportedOperationException',
      'Custom key stores are not enabled on this node.',
    );
  return s;
}

export function newCustomKeyStoreId(): string {
  // `cks-` + 17 lowercase hex digits, as in every AWS example (cks-1234567890abcdef0).
  return `cks-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

export function notFoundStore(id: string): Error {
  return kmsError('CustomKeyStoreNotFoundException', `Custom key store ${id} does not exist.`);
}

/** A store of the caller's account in the request's Region, or CustomKeyStoreNotFoundException. */
export async function loadStore(ctx: RequestContext, id: string): Promise<CustomKeyStoreRecord> {
  const store = await ctx.services.storage.customKeyStores.getStore(ctx.region, id);
  if (store === undefined || store.accountId !== ctx.principal.accountId) throw notFoundStore(id);
  return store;
}

export function invalidState(store: CustomKeyStoreRecord, what: string): Error {
  return kmsError(
    'CustomKeyStoreInvalidStateException',
    `Custom key store ${store.customKeyStoreId} is in the ${store.connectionState} state. ${what}`,
  );
}

/** The DescribeCustomKeyStores entry: never a password or secret. */
export function toListEntry(s: CustomKeyStoreRecord): CustomKeyStoresListEntry {
  const e: CustomKeyStoresListEntry = {
    CustomKeyStoreId: s.customKeyStoreId,
    CustomKeyStoreName: s.name,
    CustomKeyStoreType: s.type,
    ConnectionState: s.connectionState,
    CreationDate: s.creationDate,
  };
  if (s.connectionState === 'FAILED' && s.connectionErrorCode !== undefined)
    e.ConnectionErrorCode = s.connectionErrorCode;
  if (s.cloudHsm !== undefined) {
    e.CloudHsmClusterId = s.cloudHsm.clusterId;
    e.TrustAnchorCertificate = s.cloudHsm.trustAnchorCertificate;
  }
  if (s.xks !== undefined) {
    e.XksProxyConfiguration = {
      Connectivity: s.xks.connectivity,
      AccessKeyId: s.xks.accessKeyId,
      UriEndpoint: s.xks.uriEndpoint,
      UriPath: s.xks.uriPath,
      ...(s.xks.vpcEndpointServiceName !== undefined
        ? { VpcEndpointServiceName: s.xks.vpcEndpointServiceName }
        : {}),
      ...(s.xks.vpcEndpointServiceOwner !== undefined
        ? { VpcEndpointServiceOwner: s.xks.vpcEndpointServiceOwner }
        : {}),
    };
  }
  return e;
}

/** The parameters of Create/UpdateCustomKeyStore that belong to one store type. */
export interface StoreParams {
  CloudHsmClusterId?: string | undefined;
  TrustAnchorCertificate?: string | undefined;
  KeyStorePassword?: string | undefined;
  XksProxyUriEndpoint?: string | undefined;
  XksProxyUriPath?: string | undefined;
  XksProxyVpcEndpointServiceName?: string | undefined;
  XksProxyVpcEndpointServiceOwner?: string | undefined;
  XksProxyAuthenticationCredential?:
    { AccessKeyId?: string | undefined; RawSecretAccessKey?: string | undefined } | undefined;
  XksProxyConnectivity?: string | undefined;
}

const CLOUDHSM_PARAMS = [
  'CloudHsmClusterId',
  'TrustAnchorCertificate',
  'KeyStorePassword',
] as const;
const XKS_PARAMS = [
  'XksProxyUriEndpoint',
  'XksProxyUriPath',
  'XksProxyVpcEndpointServiceName',
  'XksProxyVpcEndpointServiceOwner',
  'XksProxyAuthenticationCredential',
  'XksProxyConnectivity',
] as const;

/** Precondition: parameters of the other store type are absent. */
export function refuseOtherTypeParams(type: CustomKeyStoreType, p: StoreParams): void {
  const other = type === 'AWS_CLOUDHSM' ? XKS_PARAMS : CLOUDHSM_PARAMS;
  const given = other.filter((k) => p[k] !== undefined);
  if (given.length > 0)
    throw kmsError(
      'ValidationException',
      `${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} not valid for a custom key store of type ${type}.`,
    );
}

/** Precondition: the required parameters of a new store of `type` are present. */
export function requireParams(type: CustomKeyStoreType, p: StoreParams): void {
  const required =
    type === 'AWS_CLOUDHSM'
      ? CLOUDHSM_PARAMS
      : ([
          'XksProxyUriEndpoint',
          'XksProxyUriPath',
          'XksProxyAuthenticationCredential',
          'XksProxyConnectivity',
        ] as const);
  const missing = required.filter((k) => p[k] === undefined);
  if (missing.length > 0)
    throw kmsError(
      'ValidationException',
      `A custom key store of type ${type} requires ${missing.join(', ')}.`,
    );
}

/**
 * TrustAnchorCertificate: the PEM of the cluster's customerCA.crt. It must parse as an X.509
 * certificate; when the cluster's config names its trust anchor, it must be that one.
 */
export function checkTrustAnchor(pem: string, clusterId: string, expected?: string): void {
  let cert: X509Certificate;
  try {
    /* Precondition: a PEM certificate, not DER or other text. */
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not PEM');
    cert = new X509Certificate(pem);
  } catch {
    throw incorrectTrustAnchor(clusterId);
  }
  if (expected !== undefined) {
    const want = new X509Certificate(expected);
    if (cert.fingerprint256 !== want.fingerprint256) throw incorrectTrustAnchor(clusterId);
  }
}

function incorrectTrustAnchor(clusterId: string): Error {
  return kmsError(
    'IncorrectTrustAnchorException',
    `The trust anchor certificate in the request is not the trust anchor certificate for the specified AWS CloudHSM cluster ${clusterId}.`,
  );
}

/**
 * XksProxy* rules beyond the model's patterns: VPC_ENDPOINT_SERVICE needs a VPC endpoint
 * service name, PUBLIC_ENDPOINT must not have one. Both connectivity values use the same
 * transport here (HTTPS to XksProxyUriEndpoint; docs/custom-key-stores.md).
 */
export function xksSettings(p: StoreParams, previous?: XksProxySettings): XksProxySettings {
  const connectivity = (p.XksProxyConnectivity ?? previous?.connectivity) as
    XksProxySettings['connectivity'] | undefined;
  const switching = previous !== undefined && p.XksProxyConnectivity !== undefined;
  let vpcName =
    p.XksProxyVpcEndpointServiceName ?? (switching ? undefined : previous?.vpcEndpointServiceName);
  let vpcOwner =
    p.XksProxyVpcEndpointServiceOwner ??
    (switching ? undefined : previous?.vpcEndpointServiceOwner);
  if (connectivity === 'VPC_ENDPOINT_SERVICE') {
    if (vpcName === undefined)
      throw kmsError(
        'ValidationException',
        'XksProxyVpcEndpointServiceName is required when XksProxyConnectivity is VPC_ENDPOINT_SERVICE.',
      );
  } else {
    if (
      p.XksProxyVpcEndpointServiceName !== undefined ||
      p.XksProxyVpcEndpointServiceOwner !== undefined
    )
      throw kmsError(
        'ValidationException',
        'XksProxyVpcEndpointServiceName and XksProxyVpcEndpointServiceOwner are valid only when XksProxyConnectivity is VPC_ENDPOINT_SERVICE.',
      );
    vpcName = undefined;
    vpcOwner = undefined;
  }
  /* Precondition (UpdateCustomKeyStore doc): switching to PUBLIC_ENDPOINT needs a new XksProxyUriEndpoint. */
  if (
    previous !== undefined &&
    previous.connectivity === 'VPC_ENDPOINT_SERVICE' &&
    connectivity === 'PUBLIC_ENDPOINT' &&
    p.XksProxyUriEndpoint === undefined
  ) {
    throw kmsError(
      'ValidationException',
      'To change XksProxyConnectivity to PUBLIC_ENDPOINT, also specify a new XksProxyUriEndpoint.',
    );
  }
  const accessKeyId = p.XksProxyAuthenticationCredential?.AccessKeyId ?? previous?.accessKeyId;
  return {
    connectivity: connectivity ?? 'PUBLIC_ENDPOINT',
    uriEndpoint: (p.XksProxyUriEndpoint ?? previous?.uriEndpoint) as string,
    uriPath: (p.XksProxyUriPath ?? previous?.uriPath) as string,
    vpcEndpointServiceName: vpcName,
    vpcEndpointServiceOwner: vpcOwner,
    accessKeyId: accessKeyId as string,
  };
}

/**
 * Uniqueness against the other stores: one CloudHSM store per cluster in the account
 * (CloudHsmClusterInUseException); per Region one XKS store per proxy URI
 * (XksProxyUriInUseException), per VPC endpoint service and per private DNS name when VPC
 * connectivity is used.
 */
export function checkUnique(
  candidate: CustomKeyStoreRecord,
  others: readonly CustomKeyStoreRecord[],
): void {
  for (const o of others) {
    if (o.customKeyStoreId === candidate.customKeyStoreId || o.accountId !== candidate.accountId)
      continue;
    if (candidate.cloudHsm !== undefined && o.cloudHsm?.clusterId === candidate.cloudHsm.clusterId)
      throw kmsError(
        'CloudHsmClusterInUseException',
        `AWS CloudHSM cluster ${candidate.cloudHsm.clusterId} is already associated with custom key store ${o.customKeyStoreId}.`,
      );
    const a = candidate.xks;
    const b = o.xks;
    if (a === undefined || b === undefined || o.region !== candidate.region) continue;
    if (a.uriEndpoint === b.uriEndpoint && a.uriPath === b.uriPath)
      throw kmsError(
        'XksProxyUriInUseException',
        `The XKS proxy URI ${a.uriEndpoint}${a.uriPath} is already associated with custom key store ${o.customKeyStoreId}.`,
      );
    if (a.connectivity === 'VPC_ENDPOINT_SERVICE' && b.connectivity === 'VPC_ENDPOINT_SERVICE') {
      if (a.vpcEndpointServiceName === b.vpcEndpointServiceName)
        throw kmsError(
          'XksProxyVpcEndpointServiceInUseException',
          `The VPC endpoint service ${a.vpcEndpointServiceName} is already associated with custom key store ${o.customKeyStoreId}.`,
        );
      if (a.uriEndpoint === b.uriEndpoint)
        throw kmsError(
          'XksProxyUriEndpointInUseException',
          `The XKS proxy URI endpoint ${a.uriEndpoint} is already associated with custom key store ${o.customKeyStoreId}.`,
        );
    }
  }
}

/** Constant-time equality of two secrets. */
export function sameSecret(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
