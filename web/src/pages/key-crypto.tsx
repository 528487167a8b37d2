/**
 * A key's general and cryptographic configuration (from DescribeKey), and the public key of
 * an asymmetric key (GetPublicKey): shown as PEM, copied, or downloaded as PEM or DER.
 */
import { GetPublicKeyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import type { ComponentChildren } from 'preact';
import { USAGE_ALGORITHM_FIELD, type KeyUsage } from '../../../src/kms/key-spec-table';
import { kms, type Session } from '../api';
import { Badge, Busy, CopyButton, ErrorBox, fmtDate, Id, useAsync } from '../ui';
import { download, toPem } from '../widgets';
import { CellError } from './keys-cells';

function Rows({ rows, wide }: { rows: [string, ComponentChildren][]; wide?: boolean }) {
  return (
    <dl class={wide === true ? 'meta wide' : 'meta'}>
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The panel above the tabs: what the AWS console calls "General configuration". */
export function GeneralConfig(props: {
  meta: KeyMetadata;
  aliases: string[] | undefined;
  aliasesError: unknown;
}) {
  const { meta, aliases } = props;
  return (
    <div class="card" aria-labelledby="general-h">
      <h2 id="general-h">General configuration</h2>
      <Rows
        rows={[
          [
            'Alias',
            props.aliasesError !== undefined ? (
              <CellError error={props.aliasesError} />
            ) : aliases === undefined ? (
              '…'
            ) : aliases.length === 0 ? (
              '—'
            ) : (
              aliases.join(', ')
            ),
          ],
          [
            'Key ID',
            <>
              <Id value={meta.KeyId} />
              <CopyButton value={meta.KeyId} label="key ID" />
            </>,
          ],
          [
            'ARN',
            <>
              <Id value={meta.Arn} />
              <CopyButton value={meta.Arn} label="ARN" />
            </>,
          ],
          ['Status', <Badge state={meta.KeyState} />],
          ['Description', meta.Description || '—'],
          ['Creation date', fmtDate(meta.CreationDate)],
          ['Regionality', meta.MultiRegion ? 'Multi-Region' : 'Single Region'],
          ['Key manager', meta.KeyManager === 'AWS' ? 'AWS managed' : 'Customer managed'],
        ]}
        wide
      />
    </div>
  );
}

const ALGORITHMS_LABEL: Readonly<Record<string, string>> = {
  EncryptionAlgorithms: 'Encryption algorithms',
  SigningAlgorithms: 'Signing algorithms',
  MacAlgorithms: 'MAC algorithms',
  KeyAgreementAlgorithms: 'Key agreement algorithms',
};

/** Key type, spec, usage, origin, key store and the algorithms the key offers. */
export function CryptoConfig({ meta }: { meta: KeyMetadata }) {
  const usage = meta.KeyUsage as KeyUsage | undefined;
  const field = usage !== undefined ? USAGE_ALGORITHM_FIELD[usage] : undefined;
  const algorithms =
    field !== undefined
      ? ((meta as unknown as Record<string, unknown>)[field] as string[] | undefined)
      : undefined;
  const symmetric = meta.KeySpec === 'SYMMETRIC_DEFAULT' || meta.KeySpec?.startsWith('HMAC_');
  const rows: [string, ComponentChildren][] = [
    ['Key type', symmetric ? 'Symmetric' : 'Asymmetric'],
    ['Key spec', meta.KeySpec],
    ['Key usage', meta.KeyUsage],
    ['Origin', meta.Origin],
  ];
  if (field !== undefined)
    rows.push([
      ALGORITHMS_LABEL[field] ?? field,
      <ul class="plain" data-testid="algorithms">
        {(algorithms ?? []).map((a) => (
          <li key={a} class="mono">
            {a}
          </li>
        ))}
      </ul>,
    ]);
  if (meta.CustomKeyStoreId !== undefined)
    rows.push(['Custom key store', <Id value={meta.CustomKeyStoreId} />]);
  if (meta.CloudHsmClusterId !== undefined)
    rows.push(['CloudHSM cluster', <Id value={meta.CloudHsmClusterId} />]);
  if (meta.XksKeyConfiguration?.Id !== undefined)
    rows.push(['External key ID', <Id value={meta.XksKeyConfiguration.Id} />]);
  if (meta.Origin === 'EXTERNAL') {
    rows.push(['Expiration model', meta.ExpirationModel ?? '—']);
    if (meta.ValidTo !== undefined) rows.push(['Key material expires', fmtDate(meta.ValidTo)]);
  }
  return (
    <section aria-labelledby="crypto-h">
      <h2 id="crypto-h">Cryptographic configuration</h2>
      <Rows rows={rows} />
    </section>
  );
}

/** GetPublicKey: the PEM, with copy and download (PEM, or DER as AWS's CLI writes it). */
export function PublicKey({ session, meta }: { session: Session; meta: KeyMetadata }) {
  const id = meta.KeyId as string;
  const key = useAsync(
    () => kms(session).send(new GetPublicKeyCommand({ KeyId: id })),
    [session, id],
  );
  const der = key.data?.PublicKey;
  const pem = der !== undefined ? toPem(der) : undefined;
  return (
    <section aria-labelledby="pub-h">
      <h2 id="pub-h">Public key</h2>
      {key.loading && <Busy label="Loading the public key…" />}
      <ErrorBox error={key.error} />
      {pem !== undefined && der !== undefined && (
        <>
          <pre class="code" data-testid="public-key" tabIndex={0}>
            {pem}
          </pre>
          <div class="row">
            <CopyButton value={pem} label="public key" />
            <button
              type="button"
              onClick={() => download(`${id}.pem`, pem, 'application/x-pem-file')}
            >
              Download PEM
            </button>
            <button
              type="button"
              onClick={() => download(`${id}.der`, der, 'application/octet-stream')}
            >
              Download DER
            </button>
          </div>
        </>
      )}
    </section>
  );
}
