/** One key: metadata, state actions, deletion, policy, rotation, aliases, tags, grants. */
import {
  CancelKeyDeletionCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  GetKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { useState } from 'preact/hooks';
import { kms, type Session } from '../api';
import { Badge, Busy, ErrorBox, fmtDate, Page, useAction, useAsync } from '../ui';
import { GrantsSection, RotationSection, TagsSection, AliasesSection } from './key-sections';
import { PolicyEditor } from './policy-editor';

function Meta({ meta }: { meta: KeyMetadata }) {
  const rows: [string, string | undefined][] = [
    ['Key ID', meta.KeyId],
    ['ARN', meta.Arn],
    ['Description', meta.Description || '—'],
    ['Key spec', meta.KeySpec],
    ['Key usage', meta.KeyUsage],
    ['Origin', meta.Origin],
    ['Key manager', meta.KeyManager],
    ['Created', fmtDate(meta.CreationDate)],
    ['Multi-Region', meta.MultiRegion ? 'Yes' : 'No'],
    ...(meta.CustomKeyStoreId
      ? ([['Custom key store', meta.CustomKeyStoreId]] as [string, string][])
      : []),
  ];
  return (
    <dl class="meta">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd class={k === 'ARN' || k === 'Key ID' ? 'mono' : ''}>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function StateActions({
  session,
  meta,
  onChange,
}: {
  session: Session;
  meta: KeyMetadata;
  onChange: () => void;
}) {
  const act = useAction();
  const [days, setDays] = useState('30');
  const [confirming, setConfirming] = useState(false);
  const [scheduled, setScheduled] = useState<Date>();
  const id = meta.KeyId as string;
  const client = kms(session);
  const state = meta.KeyState;
  const deletionDate = meta.DeletionDate ?? scheduled;
  const daysOk = /^\d+$/.test(days) && Number(days) >= 7 && Number(days) <= 30;

  return (
    <div class="card" aria-labelledby="state-h">
      <h2 id="state-h">
        State <Badge state={state} />
      </h2>
      {state === 'PendingDeletion' && (
        <p class="warning" data-testid="deletion-date">
          This key will be deleted on <strong>{fmtDate(deletionDate)}</strong>. Until then you can
          cancel the deletion (the key comes back disabled).
        </p>
      )}
      <div class="row">
        {state === 'Disabled' && (
          <button
            type="button"
            onClick={() =>
              act
                .run(
                  'Enabling…',
                  async () => void (await client.send(new EnableKeyCommand({ KeyId: id }))),
                )
                .then((ok) => ok && onChange())
            }
          >
            Enable key
          </button>
        )}
        {state === 'Enabled' && (
          <button
            type="button"
            onClick={() =>
              act
                .run(
                  'Disabling…',
                  async () => void (await client.send(new DisableKeyCommand({ KeyId: id }))),
                )
                .then((ok) => ok && onChange())
            }
          >
            Disable key
          </button>
        )}
        {state === 'PendingDeletion' && (
          <button
            type="button"
            onClick={() =>
              act
                .run('Cancelling deletion…', async () => {
                  await client.send(new CancelKeyDeletionCommand({ KeyId: id }));
                  setScheduled(undefined);
                })
                .then((ok) => ok && onChange())
            }
          >
            Cancel key deletion
          </button>
        )}
      </div>
      {state !== 'PendingDeletion' && state !== 'PendingReplicaDeletion' && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (!daysOk) return;
            if (!confirming) {
              setConfirming(true);
              return;
            }
            void act
              .run('Scheduling deletion…', async () => {
                const r = await client.send(
                  new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: Number(days) }),
                );
                setScheduled(r.DeletionDate);
                setConfirming(false);
              })
              .then((ok) => ok && onChange());
          }}
        >
          <label>
            Waiting period (days, 7–30)
            <input
              name="pendingWindowInDays"
              type="number"
              min={7}
              max={30}
              value={days}
              aria-invalid={!daysOk}
              onInput={(e) => {
                setDays(e.currentTarget.value);
                setConfirming(false);
              }}
            />
          </label>
          <button type="submit" class={confirming ? 'danger' : ''} disabled={!daysOk}>
            {confirming ? `Confirm: delete this key after ${days} days` : 'Schedule key deletion'}
          </button>
          {confirming && (
            <button type="button" onClick={() => setConfirming(false)}>
              Keep the key
            </button>
          )}
        </form>
      )}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
    </div>
  );
}

export function KeyDetail(props: { session: Session; keyId: string; created?: boolean }) {
  const { session, keyId } = props;
  const key = useAsync(async () => {
    const client = kms(session);
    const { KeyMetadata: meta } = await client.send(new DescribeKeyCommand({ KeyId: keyId }));
    const policy = await client
      .send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))
      .then((r) => ({ text: r.Policy ?? '' }))
      .catch((error: unknown) => ({ error }));
    return { meta: meta as KeyMetadata, policy };
  }, [session, keyId]);
  const meta = key.data?.meta;
  return (
    <Page title={meta?.Description ? `Key: ${meta.Description}` : `Key ${keyId}`}>
      {props.created === true && (
        <p class="ok-text" role="status">
          Key created.
        </p>
      )}
      <ErrorBox error={key.error} />
      {key.loading && key.data === undefined && <Busy label="Loading key…" />}
      {meta !== undefined && key.data !== undefined && (
        <>
          <div class="card">
            <h2>General configuration</h2>
            <Meta meta={meta} />
          </div>
          <StateActions session={session} meta={meta} onChange={key.reload} />
          {'error' in key.data.policy ? (
            <div class="card">
              <h2>Key policy</h2>
              <ErrorBox error={key.data.policy.error} />
            </div>
          ) : (
            <PolicyEditor
              session={session}
              keyId={keyId}
              policy={key.data.policy.text}
              onSaved={key.reload}
            />
          )}
          <RotationSection session={session} meta={meta} />
          <AliasesSection session={session} keyId={keyId} />
          <TagsSection session={session} keyId={keyId} />
          <GrantsSection session={session} keyId={keyId} />
        </>
      )}
    </Page>
  );
}
