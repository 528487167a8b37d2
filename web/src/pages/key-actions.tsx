/**
 * Key actions: enable, disable (confirmed), schedule deletion (waiting period, confirmed)
 * and cancel deletion. An action the key's state does not allow is disabled with the
 * reason; one the person was refused is disabled with "not allowed" (widgets.tsx).
 */
import {
  CancelKeyDeletionCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ScheduleKeyDeletionCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { useState } from 'preact/hooks';
import { kms, type Session } from '../api';
import { Badge, Busy, ErrorBox, fmtDate } from '../ui';
import { ActionButton, DeniedList, useConfirm, useGuarded } from '../widgets';

export function KeyActions(props: { session: Session; meta: KeyMetadata; onChange: () => void }) {
  const { session, meta, onChange } = props;
  const guarded = useGuarded();
  const { act, denied } = guarded;
  const { dialog, ask } = useConfirm();
  const [days, setDays] = useState('30');
  const id = meta.KeyId as string;
  const client = kms(session);
  const state = meta.KeyState;
  const daysOk = /^\d+$/.test(days) && Number(days) >= 7 && Number(days) <= 30;
  const managed = meta.KeyManager === 'AWS';

  const run = (action: string, label: string, fn: () => Promise<unknown>) =>
    guarded.run(action, label, fn).then((ok) => ok && onChange());

  const disable = async () => {
    const ok = await ask({
      title: 'Disable key?',
      body: (
        <p>
          While the key is disabled, nothing can encrypt or decrypt with it: data it protects cannot
          be read until you enable it again.
        </p>
      ),
      confirm: 'Disable key',
      danger: true,
    });
    if (ok)
      void run('kms:DisableKey', 'Disabling…', () =>
        client.send(new DisableKeyCommand({ KeyId: id })),
      );
  };

  const schedule = async () => {
    const ok = await ask({
      title: 'Schedule key deletion?',
      body: (
        <>
          <p>
            After {days} days the key and its key material are deleted. Data encrypted under it can
            then never be decrypted again.
          </p>
          <p>Until then the key is unusable, and you can cancel the deletion.</p>
        </>
      ),
      confirm: `Schedule deletion after ${days} days`,
      danger: true,
    });
    if (ok)
      void run('kms:ScheduleKeyDeletion', 'Scheduling deletion…', () =>
        client.send(
          new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: Number(days) }),
        ),
      );
  };

  const notManaged = managed ? 'AWS managed keys are managed by AWS.' : undefined;
  return (
    <div class="card" aria-labelledby="state-h">
      {dialog}
      <h2 id="state-h">
        Key actions <Badge state={state} />
      </h2>
      {state === 'PendingDeletion' && (
        <p class="warning" data-testid="deletion-date">
          This key will be deleted on <strong>{fmtDate(meta.DeletionDate)}</strong>. Until then you
          can cancel the deletion (the key comes back disabled).
        </p>
      )}
      {state === 'PendingImport' && (
        <p class="note">This key has no key material yet: import it under "Key material".</p>
      )}
      <div class="row">
        {state === 'Disabled' && (
          <ActionButton
            action="kms:EnableKey"
            denied={denied}
            disabled={managed}
            why={notManaged}
            onClick={() =>
              void run('kms:EnableKey', 'Enabling…', () =>
                client.send(new EnableKeyCommand({ KeyId: id })),
              )
            }
          >
            Enable key
          </ActionButton>
        )}
        {state === 'Enabled' && (
          <ActionButton
            action="kms:DisableKey"
            denied={denied}
            disabled={managed}
            why={notManaged}
            onClick={() => void disable()}
          >
            Disable key
          </ActionButton>
        )}
        {state === 'PendingDeletion' && (
          <ActionButton
            action="kms:CancelKeyDeletion"
            denied={denied}
            onClick={() =>
              void run('kms:CancelKeyDeletion', 'Cancelling deletion…', () =>
                client.send(new CancelKeyDeletionCommand({ KeyId: id })),
              )
            }
          >
            Cancel key deletion
          </ActionButton>
        )}
      </div>
      {state !== 'PendingDeletion' && state !== 'PendingReplicaDeletion' && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (daysOk && !denied.has('kms:ScheduleKeyDeletion')) void schedule();
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
              onInput={(e) => setDays(e.currentTarget.value)}
            />
          </label>
          <ActionButton
            action="kms:ScheduleKeyDeletion"
            denied={denied}
            disabled={!daysOk || managed}
            why={managed ? notManaged : 'The waiting period is 7 to 30 days.'}
            onClick={() => void schedule()}
          >
            Schedule key deletion
          </ActionButton>
        </form>
      )}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
      <DeniedList denied={denied} />
    </div>
  );
}
