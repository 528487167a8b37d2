/**
 * One key, laid out as the AWS console does: the alias as the heading, the general
 * configuration, the key actions, then tabs (key policy, cryptographic configuration,
 * public key, key material, tags, rotation, aliases, grants, regionality). A tab loads
 * its data when opened; the open tab is kept in the URL (?tab=…).
 */
import { DescribeKeyCommand, GetKeyPolicyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { useState } from 'preact/hooks';
import { kms, type Session } from '../api';
import { BASE } from '../router';
import { Busy, ErrorBox, Page, useAsync } from '../ui';
import { Tabs, type TabSpec } from '../widgets';
import { KeyActions } from './key-actions';
import { CryptoConfig, GeneralConfig, PublicKey } from './key-crypto';
import { KeyMaterial } from './key-material';
import { Regionality } from './key-regions';
import { GrantsSection } from './key-grants';
import { AliasesSection, RotationSection, TagsSection } from './key-sections';
import { listAliases } from './keys-data';
import { PolicyEditor } from './policy-editor';

function PolicyTab(props: { session: Session; keyId: string }) {
  const policy = useAsync(
    () =>
      kms(props.session)
        .send(new GetKeyPolicyCommand({ KeyId: props.keyId, PolicyName: 'default' }))
        .then((r) => r.Policy ?? ''),
    [props.session, props.keyId],
  );
  if (policy.loading && policy.data === undefined) return <Busy label="Loading the key policy…" />;
  if (policy.data === undefined)
    return (
      <section aria-labelledby="policy-h">
        <h2 id="policy-h">Key policy</h2>
        <ErrorBox error={policy.error} />
      </section>
    );
  return (
    <PolicyEditor
      session={props.session}
      keyId={props.keyId}
      policy={policy.data}
      onSaved={policy.reload}
    />
  );
}

/** The tabs this key has: public key for asymmetric keys, key material for imported ones. */
function tabsFor(meta: KeyMetadata): TabSpec[] {
  const asymmetric = meta.KeySpec !== 'SYMMETRIC_DEFAULT' && !meta.KeySpec?.startsWith('HMAC_');
  return [
    { id: 'policy', label: 'Key policy' },
    { id: 'crypto', label: 'Cryptographic configuration' },
    ...(asymmetric ? [{ id: 'public-key', label: 'Public key' }] : []),
    ...(meta.Origin === 'EXTERNAL' ? [{ id: 'material', label: 'Key material' }] : []),
    { id: 'tags', label: 'Tags' },
    { id: 'rotation', label: 'Key rotation' },
    { id: 'aliases', label: 'Aliases' },
    { id: 'grants', label: 'Grants' },
    { id: 'regionality', label: 'Regionality' },
  ];
}

export function KeyDetail(props: {
  session: Session;
  keyId: string;
  created?: boolean;
  tab?: string | null;
}) {
  const { session, keyId } = props;
  const key = useAsync(
    () =>
      kms(session)
        .send(new DescribeKeyCommand({ KeyId: keyId }))
        .then((r) => r.KeyMetadata as KeyMetadata),
    [session, keyId],
  );
  const aliases = useAsync(() => listAliases(session, keyId), [session, keyId]);
  const [tab, setTab] = useState(props.tab ?? 'policy');
  const meta = key.data;
  const names = aliases.data?.map((a) => a.AliasName as string);
  const tabs = meta !== undefined ? tabsFor(meta) : [];
  const shown = tabs.some((t) => t.id === tab) ? tab : 'policy';
  const select = (id: string) => {
    setTab(id);
    // Keep the tab in the address (reload, share) without a navigation.
    history.replaceState(null, '', `${BASE}/keys/${keyId}?tab=${id}`);
  };
  const reload = () => {
    key.reload();
    aliases.reload();
  };

  return (
    <Page title={names?.[0] ?? (meta !== undefined ? (meta.KeyId as string) : `Key ${keyId}`)}>
      {props.created === true && (
        <p class="ok-text" role="status">
          Key created.
        </p>
      )}
      <ErrorBox error={key.error} />
      {key.loading && meta === undefined && <Busy label="Loading key…" />}
      {meta !== undefined && (
        <>
          <GeneralConfig meta={meta} aliases={names} aliasesError={aliases.error} />
          <KeyActions session={session} meta={meta} onChange={reload} />
          <Tabs tabs={tabs} selected={shown} onSelect={select} label="Key details">
            {shown === 'policy' && <PolicyTab session={session} keyId={keyId} />}
            {shown === 'crypto' && <CryptoConfig meta={meta} />}
            {shown === 'public-key' && <PublicKey session={session} meta={meta} />}
            {shown === 'material' && (
              <KeyMaterial session={session} meta={meta} onChange={reload} />
            )}
            {shown === 'tags' && <TagsSection session={session} keyId={keyId} />}
            {shown === 'rotation' && <RotationSection session={session} meta={meta} />}
            {shown === 'aliases' && (
              <AliasesSection session={session} keyId={keyId} onChange={aliases.reload} />
            )}
            {shown === 'grants' && <GrantsSection session={session} keyId={keyId} />}
            {shown === 'regionality' && (
              <Regionality session={session} meta={meta} onChange={reload} />
            )}
          </Tabs>
        </>
      )}
    </Page>
  );
}
