/** The smaller parts of a key's page: rotation, aliases, tags and grants. */
import {
  DisableKeyRotationCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  ListKeyRotationsCommand,
  ListResourceTagsCommand,
  RotateKeyOnDemandCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { CreateAliasCommand, DeleteAliasCommand } from '@aws-sdk/client-kms';
import { useState } from 'preact/hooks';
import { aliasNameProblem } from '../../../src/kms/key-spec-table';
import { allPages, kms, type Session } from '../api';
import { Busy, ErrorBox, fmtDate, Link, useAction, useAsync } from '../ui';
import { ActionButton, DeniedList, useConfirm, useGuarded } from '../widgets';
import { listAliases } from './keys-data';

export function RotationSection({ session, meta }: { session: Session; meta: KeyMetadata }) {
  const id = meta.KeyId as string;
  const client = kms(session);
  const data = useAsync(async () => {
    const status = await client.send(new GetKeyRotationStatusCommand({ KeyId: id }));
    const rotations = await allPages(async (Marker) => {
      const r = await client.send(new ListKeyRotationsCommand({ KeyId: id, Marker }));
      return { items: r.Rotations ?? [], next: r.Truncated ? r.NextMarker : undefined };
    });
    return { status, rotations };
  }, [session, id]);
  const guarded = useGuarded();
  const { act, denied } = guarded;
  const { dialog, ask } = useConfirm();
  const [period, setPeriod] = useState('365');
  const periodOk = /^\d+$/.test(period) && Number(period) >= 90 && Number(period) <= 2560;
  const s = data.data?.status;
  const unsupported =
    (data.error as { name?: string } | undefined)?.name === 'UnsupportedOperationException';

  return (
    <div class="card" aria-labelledby="rotation-h">
      {dialog}
      <h2 id="rotation-h">Key rotation</h2>
      {unsupported ? (
        <p class="muted">
          Automatic rotation is only for symmetric encryption keys with key material from KMS.
        </p>
      ) : (
        <ErrorBox error={data.error} />
      )}
      {data.loading && <Busy label="Loading rotation status…" />}
      {s !== undefined && (
        <>
          <dl class="meta">
            <div>
              <dt>Automatic rotation</dt>
              <dd data-testid="rotation-enabled">
                {s.KeyRotationEnabled ? 'Enabled' : 'Disabled'}
              </dd>
            </div>
            {s.KeyRotationEnabled && (
              <>
                <div>
                  <dt>Rotation period</dt>
                  <dd>{s.RotationPeriodInDays} days</dd>
                </div>
                <div>
                  <dt>Next rotation</dt>
                  <dd>{fmtDate(s.NextRotationDate)}</dd>
                </div>
              </>
            )}
            {s.OnDemandRotationStartDate && (
              <div>
                <dt>On-demand rotation in progress since</dt>
                <dd>{fmtDate(s.OnDemandRotationStartDate)}</dd>
              </div>
            )}
          </dl>
          <div class="row">
            {s.KeyRotationEnabled ? (
              <button
                type="button"
                onClick={() =>
                  act
                    .run(
                      'Disabling rotation…',
                      async () =>
                        void (await client.send(new DisableKeyRotationCommand({ KeyId: id }))),
                    )
                    .then((ok) => ok && data.reload())
                }
              >
                Disable automatic rotation
              </button>
            ) : (
              <>
                <label>
                  Rotation period (days, 90–2560)
                  <input
                    name="rotationPeriod"
                    type="number"
                    min={90}
                    max={2560}
                    value={period}
                    aria-invalid={!periodOk}
                    onInput={(e) => setPeriod(e.currentTarget.value)}
                  />
                </label>
                <button
                  type="button"
                  disabled={!periodOk}
                  onClick={() =>
                    act
                      .run(
                        'Enabling rotation…',
                        async () =>
                          void (await client.send(
                            new EnableKeyRotationCommand({
                              KeyId: id,
                              RotationPeriodInDays: Number(period),
                            }),
                          )),
                      )
                      .then((ok) => ok && data.reload())
                  }
                >
                  Enable automatic rotation
                </button>
              </>
            )}
            <ActionButton
              action="kms:RotateKeyOnDemand"
              denied={denied}
              onClick={async () => {
                const ok = await ask({
                  title: 'Rotate the key material now?',
                  body: (
                    <p>
                      KMS creates new key material for this key and uses it for everything encrypted
                      from now on; the old material stays to decrypt what it protected. On-demand
                      rotations are limited (10 per key) and cannot be undone.
                    </p>
                  ),
                  confirm: 'Rotate now',
                });
                if (!ok) return;
                if (
                  await guarded.run('kms:RotateKeyOnDemand', 'Rotating key material…', () =>
                    client.send(new RotateKeyOnDemandCommand({ KeyId: id })),
                  )
                )
                  data.reload();
              }}
            >
              Rotate now
            </ActionButton>
          </div>
          <h3>Rotation history</h3>
          {data.data && data.data.rotations.length === 0 ? (
            <p class="muted">This key has not been rotated.</p>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Type</th>
                </tr>
              </thead>
              <tbody>
                {data.data?.rotations.map((r, i) => (
                  <tr key={i}>
                    <td data-label="Date">{fmtDate(r.RotationDate)}</td>
                    <td data-label="Type">{r.RotationType}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
      <DeniedList denied={denied} />
    </div>
  );
}

/** This key's aliases: add one, delete one (confirmed). */
export function AliasesSection(props: { session: Session; keyId: string; onChange: () => void }) {
  const { session, keyId } = props;
  const data = useAsync(() => listAliases(session, keyId), [session, keyId]);
  const guarded = useGuarded();
  const { act, denied } = guarded;
  const { dialog, ask } = useConfirm();
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string>();
  const client = kms(session);
  const changed = () => {
    data.reload();
    props.onChange();
  };
  const remove = async (alias: string) => {
    const ok = await ask({
      title: `Delete ${alias}?`,
      body: (
        <p>
          Applications that use <code>{alias}</code> stop finding this key. The key itself is not
          changed.
        </p>
      ),
      confirm: 'Delete alias',
      danger: true,
    });
    if (
      ok &&
      (await guarded.run('kms:DeleteAlias', 'Deleting alias…', () =>
        client.send(new DeleteAliasCommand({ AliasName: alias })),
      ))
    )
      changed();
  };
  return (
    <div class="card" aria-labelledby="aliases-h">
      {dialog}
      <h2 id="aliases-h">Aliases</h2>
      <ErrorBox error={data.error} />
      {data.data?.length === 0 && <p class="muted">No aliases.</p>}
      <ul class="plain">
        {data.data?.map((a) => (
          <li key={a.AliasName} class="row tight">
            <span class="mono">{a.AliasName}</span>
            <ActionButton
              action="kms:DeleteAlias"
              denied={denied}
              onClick={() => void remove(a.AliasName as string)}
            >
              <span aria-label={`Delete ${a.AliasName}`}>Delete</span>
            </ActionButton>
          </li>
        ))}
      </ul>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          const full = name.startsWith('alias/') ? name : `alias/${name}`;
          const p = aliasNameProblem(full);
          setProblem(p);
          if (p !== undefined) return;
          void guarded
            .run('kms:CreateAlias', 'Creating alias…', () =>
              client.send(new CreateAliasCommand({ AliasName: full, TargetKeyId: keyId })),
            )
            .then((ok) => {
              if (!ok) return;
              setName('');
              changed();
            });
        }}
      >
        <label>
          New alias for this key
          <input
            name="newAlias"
            value={name}
            placeholder="alias/orders"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={denied.has('kms:CreateAlias')}>
          Add alias
        </button>
      </form>
      {problem !== undefined && (
        <p class="error-text" role="alert">
          {problem}
        </p>
      )}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
      <DeniedList denied={denied} />
      <Link to="/aliases">All aliases</Link>
    </div>
  );
}

export function TagsSection({ session, keyId }: { session: Session; keyId: string }) {
  const client = kms(session);
  const data = useAsync(
    () =>
      allPages(async (Marker) => {
        const r = await client.send(new ListResourceTagsCommand({ KeyId: keyId, Marker }));
        return { items: r.Tags ?? [], next: r.Truncated ? r.NextMarker : undefined };
      }),
    [session, keyId],
  );
  const act = useAction();
  const [k, setK] = useState('');
  const [v, setV] = useState('');
  return (
    <div class="card" aria-labelledby="tags-h">
      <h2 id="tags-h">Tags</h2>
      <ErrorBox error={data.error} />
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
            <th scope="col">
              <span class="sr-only">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {data.data?.map((t) => (
            <tr key={t.TagKey}>
              <td data-label="Key">{t.TagKey}</td>
              <td data-label="Value">{t.TagValue}</td>
              <td>
                <button
                  type="button"
                  aria-label={`Remove tag ${t.TagKey}`}
                  onClick={() =>
                    act
                      .run(
                        'Removing tag…',
                        async () =>
                          void (await client.send(
                            new UntagResourceCommand({
                              KeyId: keyId,
                              TagKeys: [t.TagKey as string],
                            }),
                          )),
                      )
                      .then((ok) => ok && data.reload())
                  }
                >
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void act
            .run('Adding tag…', async () => {
              await client.send(
                new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: k, TagValue: v }] }),
              );
              setK('');
              setV('');
            })
            .then((ok) => ok && data.reload());
        }}
      >
        <label>
          Tag key
          <input name="tagKey" value={k} required onInput={(e) => setK(e.currentTarget.value)} />
        </label>
        <label>
          Tag value
          <input name="tagValue" value={v} onInput={(e) => setV(e.currentTarget.value)} />
        </label>
        <button type="submit">Add tag</button>
      </form>
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
    </div>
  );
}
