/** Aliases: list, create, point at another key, delete. */
import { CreateAliasCommand, DeleteAliasCommand, UpdateAliasCommand } from '@aws-sdk/client-kms';
import { useState } from 'preact/hooks';
import { kms, type Session } from '../api';
import { Busy, ErrorBox, fmtDate, Link, Page, useAction, useAsync } from '../ui';
import { aliasNameProblem } from '../../../src/kms/key-spec-table';
import { useConfirm } from '../widgets';
import { listAliases } from './keys-data';

export function Aliases({ session }: { session: Session }) {
  const data = useAsync(() => listAliases(session), [session]);
  const act = useAction();
  const [name, setName] = useState('');
  const [target, setTarget] = useState('');
  const [retarget, setRetarget] = useState<Record<string, string>>({});
  const client = kms(session);
  const { dialog, ask } = useConfirm();
  const [problem, setProblem] = useState<string>();
  // AWS managed aliases (alias/aws/...) have no target until a service uses them.
  const rows = (data.data ?? []).filter(
    (a) => a.TargetKeyId !== undefined || !a.AliasName?.startsWith('alias/aws/'),
  );

  return (
    <Page title="Aliases">
      {dialog}
      <ErrorBox error={data.error} />
      {data.loading && <Busy label="Loading aliases…" />}
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Alias</th>
            <th scope="col">Key</th>
            <th scope="col">Created</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((a) => {
            const n = a.AliasName as string;
            return (
              <tr key={n}>
                <td data-label="Alias" class="mono">
                  {n}
                </td>
                <td data-label="Key">
                  {a.TargetKeyId ? (
                    <Link to={`/keys/${a.TargetKeyId}`} class="mono">
                      {a.TargetKeyId}
                    </Link>
                  ) : (
                    '—'
                  )}
                </td>
                <td data-label="Created">{fmtDate(a.CreationDate)}</td>
                <td data-label="Change">
                  <form
                    class="row tight"
                    onSubmit={(e) => {
                      e.preventDefault();
                      void act
                        .run(
                          'Updating alias…',
                          async () =>
                            void (await client.send(
                              new UpdateAliasCommand({
                                AliasName: n,
                                TargetKeyId: retarget[n] ?? '',
                              }),
                            )),
                        )
                        .then((ok) => ok && data.reload());
                    }}
                  >
                    <label class="sr-only" for={`retarget-${n}`}>
                      New target key ID for {n}
                    </label>
                    <input
                      id={`retarget-${n}`}
                      placeholder="key ID"
                      value={retarget[n] ?? ''}
                      onInput={(e) => setRetarget({ ...retarget, [n]: e.currentTarget.value })}
                    />
                    <button type="submit">Point here</button>
                    <button
                      type="button"
                      aria-label={`Delete ${n}`}
                      onClick={async () => {
                        const ok = await ask({
                          title: `Delete ${n}?`,
                          body: (
                            <p>
                              Applications that use <code>{n}</code> stop finding its key. The key
                              itself is not changed.
                            </p>
                          ),
                          confirm: 'Delete alias',
                          danger: true,
                        });
                        if (!ok) return;
                        await act
                          .run(
                            'Deleting alias…',
                            async () =>
                              void (await client.send(new DeleteAliasCommand({ AliasName: n }))),
                          )
                          .then((ok) => ok && data.reload());
                      }}
                    >
                      Delete
                    </button>
                  </form>
                </td>
              </tr>
            );
          })}
          {data.data !== undefined && rows.length === 0 && (
            <tr>
              <td colSpan={4}>No aliases.</td>
            </tr>
          )}
        </tbody>
      </table>
      <form
        class="card row"
        onSubmit={(e) => {
          e.preventDefault();
          const full = name.startsWith('alias/') ? name : `alias/${name}`;
          const p = aliasNameProblem(full);
          setProblem(p);
          if (p !== undefined) return;
          void act
            .run('Creating alias…', async () => {
              await client.send(new CreateAliasCommand({ AliasName: full, TargetKeyId: target }));
              setName('');
              setTarget('');
            })
            .then((ok) => ok && data.reload());
        }}
      >
        <h2 class="full">Create alias</h2>
        <label>
          Alias name
          <input
            name="aliasName"
            value={name}
            required
            placeholder="alias/orders"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label>
          Target key ID
          <input
            name="targetKeyId"
            value={target}
            required
            onInput={(e) => setTarget(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary">
          Create alias
        </button>
      </form>
      {problem !== undefined && (
        <p class="error-text" role="alert">
          {problem}
        </p>
      )}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
    </Page>
  );
}
