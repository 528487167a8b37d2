/**
 * Regionality: a multi-Region key's primary and replicas, and "Replicate key" (ReplicateKey)
 * into another Region this keyhold serves. A single-Region key says it cannot become one.
 */
import { ReplicateKeyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { useState } from 'preact/hooks';
import { kms, servedRegions, type Session } from '../api';
import { Busy, ErrorBox, Id, useAsync } from '../ui';
import { ActionButton, DeniedList, useConfirm, useGuarded } from '../widgets';

export function Regionality(props: { session: Session; meta: KeyMetadata; onChange: () => void }) {
  const { session, meta } = props;
  const regions = useAsync(servedRegions, []);
  const guarded = useGuarded();
  const { act, denied } = guarded;
  const { dialog, ask } = useConfirm();
  const [target, setTarget] = useState('');
  const [replicated, setReplicated] = useState<string>();
  const mrk = meta.MultiRegionConfiguration;
  if (!meta.MultiRegion || mrk === undefined)
    return (
      <section aria-labelledby="regions-h">
        <h2 id="regions-h">Regionality</h2>
        <p data-testid="single-region">
          Single-Region key. Whether a key is multi-Region is chosen when it is created.
        </p>
      </section>
    );
  const have = new Set([mrk.PrimaryKey?.Region, ...(mrk.ReplicaKeys ?? []).map((r) => r.Region)]);
  const free = (regions.data ?? []).filter((r) => !have.has(r));
  const primary = mrk.MultiRegionKeyType === 'PRIMARY';
  const replicate = async () => {
    const ok = await ask({
      title: `Replicate this key to ${target}?`,
      body: (
        <p>
          A replica key with the same key ID and key material is created in {target}, with this
          key's policy and tags. It is a separate key there, managed on its own.
        </p>
      ),
      confirm: 'Replicate key',
    });
    if (!ok) return;
    const done = await guarded.run('kms:ReplicateKey', `Replicating to ${target}…`, () =>
      kms(session).send(new ReplicateKeyCommand({ KeyId: meta.KeyId, ReplicaRegion: target })),
    );
    if (done) {
      setReplicated(target);
      setTarget('');
      props.onChange();
    }
  };
  return (
    <section aria-labelledby="regions-h">
      {dialog}
      <h2 id="regions-h">Regionality</h2>
      <dl class="meta">
        <div>
          <dt>Multi-Region key type</dt>
          <dd data-testid="mrk-type">{mrk.MultiRegionKeyType}</dd>
        </div>
        <div>
          <dt>Primary key</dt>
          <dd>
            {mrk.PrimaryKey?.Region} <Id value={mrk.PrimaryKey?.Arn} />
          </dd>
        </div>
        <div>
          <dt>Replica keys</dt>
          <dd>
            {(mrk.ReplicaKeys ?? []).length === 0 ? (
              'none'
            ) : (
              <ul class="plain" data-testid="replicas">
                {mrk.ReplicaKeys?.map((r) => (
                  <li key={r.Arn}>
                    {r.Region} <Id value={r.Arn} />
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
      </dl>
      {primary && (
        <div class="row">
          <label>
            Replicate to Region
            <select
              name="replicaRegion"
              value={target}
              onChange={(e) => setTarget(e.currentTarget.value)}
            >
              <option value="">Choose a Region</option>
              {free.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <ActionButton
            action="kms:ReplicateKey"
            denied={denied}
            disabled={target === ''}
            why={
              free.length === 0
                ? 'Every Region this keyhold serves has this key already.'
                : undefined
            }
            onClick={() => void replicate()}
          >
            Replicate key
          </ActionButton>
        </div>
      )}
      {replicated !== undefined && (
        <p class="ok-text" role="status">
          Replicated to {replicated}.
        </p>
      )}
      {regions.error !== undefined && <ErrorBox error={regions.error} />}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
      <DeniedList denied={denied} />
    </section>
  );
}
