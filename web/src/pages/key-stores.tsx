/** Custom key stores: connection state, connect / disconnect, and what a failure means. */
import {
  ConnectCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand,
  DisconnectCustomKeyStoreCommand,
  type CustomKeyStoresListEntry,
} from '@aws-sdk/client-kms';
import { useEffect, useState } from 'preact/hooks';
import { allPages, kms, type Session } from '../api';
import { Badge, Busy, ErrorBox, fmtDate, Page, useAction, useAsync } from '../ui';

/** ConnectionErrorCode → cause and fix (CustomKeyStoresListEntry and "Troubleshooting a custom key store"). */
export const CONNECTION_ERRORS: Readonly<Record<string, string>> = {
  INTERNAL_ERROR: 'An internal error in keyhold. Disconnect the store, then connect it again.',
  NETWORK_ERRORS:
    'Network errors kept keyhold from connecting (usually transient). Disconnect, wait, connect again.',
  CLUSTER_NOT_FOUND:
    'No HSM (PKCS#11 token) matches the configured cluster ID. Check the token/slot exists, or update the store with the right cluster ID while disconnected.',
  INSUFFICIENT_CLOUDHSM_HSMS:
    'The cluster has no active HSM. Bring at least one HSM online, then connect.',
  INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET:
    'A cluster subnet has no free address. Free one, then connect.',
  INVALID_CREDENTIALS:
    'The password (kmsuser PIN) or the XKS proxy credential is wrong. Disconnect, update the store with the current credential (UpdateCustomKeyStore), then connect.',
  SUBNET_NOT_FOUND:
    'A subnet in the cluster configuration was deleted. Fix the cluster, then connect.',
  USER_LOCKED_OUT:
    'The kmsuser account is locked after too many failed logins. Reset its password in the HSM, update KeyStorePassword, then connect.',
  USER_LOGGED_IN: 'kmsuser is logged in elsewhere. Log it out of the HSM, then connect.',
  USER_NOT_FOUND: 'The HSM has no kmsuser crypto user. Create it, then connect.',
  XKS_PROXY_ACCESS_DENIED:
    'The XKS proxy refused keyhold. Check the proxy authorizes this key store.',
  XKS_PROXY_INVALID_CONFIGURATION:
    'The XKS proxy rejected the configuration. Check XksProxyUriPath.',
  XKS_PROXY_INVALID_RESPONSE:
    'The XKS proxy answered something keyhold could not understand. Check the proxy version and logs.',
  XKS_PROXY_INVALID_TLS_CONFIGURATION:
    'TLS to the XKS proxy failed: it needs TLS 1.2/1.3, an unexpired certificate for the endpoint host name, from a trusted CA.',
  XKS_PROXY_NOT_REACHABLE:
    'keyhold cannot reach the XKS proxy (or the proxy reports its external key manager unavailable).',
  XKS_PROXY_TIMED_OUT: 'The XKS proxy did not answer in time. Check its load and network path.',
  XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION:
    'The VPC endpoint service for the proxy is misconfigured.',
  XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND: 'The VPC endpoint service for the proxy does not exist.',
};

const TRANSIENT = new Set(['CONNECTING', 'DISCONNECTING']);

function StoreRow({
  s,
  session,
  onChange,
}: {
  s: CustomKeyStoresListEntry;
  session: Session;
  onChange: () => void;
}) {
  const act = useAction();
  const id = s.CustomKeyStoreId as string;
  const client = kms(session);
  const state = s.ConnectionState;
  return (
    <tr data-store-id={id}>
      <td data-label="Name">
        <strong>{s.CustomKeyStoreName}</strong>
        <div class="mono muted">{id}</div>
      </td>
      <td data-label="Type">{s.CustomKeyStoreType ?? 'AWS_CLOUDHSM'}</td>
      <td data-label="State">
        <Badge state={state} />
        {s.ConnectionErrorCode && (
          <div class="explain" data-testid="connection-error">
            <strong class="mono">{s.ConnectionErrorCode}</strong>:{' '}
            {CONNECTION_ERRORS[s.ConnectionErrorCode] ?? 'See the keyhold log.'}
          </div>
        )}
      </td>
      <td data-label="Created">{fmtDate(s.CreationDate)}</td>
      <td data-label="Actions">
        {(state === 'DISCONNECTED' || state === undefined) && (
          <button
            type="button"
            onClick={() =>
              act
                .run(
                  'Connecting…',
                  async () =>
                    void (await client.send(
                      new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: id }),
                    )),
                )
                .then(onChange)
            }
          >
            Connect
          </button>
        )}
        {(state === 'CONNECTED' || state === 'FAILED' || state === 'CONNECTING') && (
          <button
            type="button"
            onClick={() =>
              act
                .run(
                  'Disconnecting…',
                  async () =>
                    void (await client.send(
                      new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: id }),
                    )),
                )
                .then(onChange)
            }
          >
            Disconnect
          </button>
        )}
        {act.busy !== undefined && <Busy label={act.busy} />}
        <ErrorBox error={act.error} />
      </td>
    </tr>
  );
}

export function KeyStores({ session }: { session: Session }) {
  const data = useAsync(
    () =>
      allPages(async (Marker) => {
        const r = await kms(session).send(new DescribeCustomKeyStoresCommand({ Marker }));
        return { items: r.CustomKeyStores ?? [], next: r.Truncated ? r.NextMarker : undefined };
      }),
    [session],
  );
  const [polls, setPolls] = useState(0);
  const transient = (data.data ?? []).some((s) => TRANSIENT.has(s.ConnectionState ?? ''));
  // Connecting takes a while: poll every 2 s while a store is in a transient state (up to ~10 min).
  useEffect(() => {
    if (!transient || data.loading || polls > 300) return;
    const t = setTimeout(() => {
      setPolls((p) => p + 1);
      data.reload();
    }, 2000);
    return () => clearTimeout(t);
  }, [transient, data.loading, polls]);
  const unsupported =
    (data.error as { name?: string } | undefined)?.name === 'UnsupportedOperationException';

  return (
    <Page
      title="Custom key stores"
      actions={
        <button type="button" onClick={data.reload}>
          Refresh
        </button>
      }
    >
      {unsupported ? (
        <div class="note" role="status" data-testid="keystores-unsupported">
          <p>
            <strong>UnsupportedOperationException</strong>: this keyhold server does not offer
            custom key stores yet. Keys live in keyhold's own key store; upgrade keyhold to use
            PKCS#11 HSMs or an external key store proxy.
          </p>
        </div>
      ) : (
        <ErrorBox error={data.error} />
      )}
      {transient && (
        <Busy label="A key store is connecting or disconnecting; this page refreshes until it settles…" />
      )}
      {data.loading && data.data === undefined && <Busy label="Loading key stores…" />}
      {data.data !== undefined && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Connection</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.data.map((s) => (
              <StoreRow key={s.CustomKeyStoreId} s={s} session={session} onChange={data.reload} />
            ))}
            {data.data.length === 0 && (
              <tr>
                <td colSpan={5}>
                  No custom key stores. Create one with the AWS CLI or SDK (CreateCustomKeyStore).
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </Page>
  );
}
