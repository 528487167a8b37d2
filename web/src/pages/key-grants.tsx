/** The Grants tab: grants on the key with grantee, operations, constraints; revoke (confirmed). */
import { ListGrantsCommand, RevokeGrantCommand, type GrantListEntry } from '@aws-sdk/client-kms';
import { allPages, kms, type Session } from '../api';
import { Busy, ErrorBox, fmtDate, Id, useAsync } from '../ui';
import { ActionButton, DeniedList, useConfirm, useGuarded } from '../widgets';

/** Grant constraints in words: the encryption context a grant requires. */
function Constraints({ c }: { c: GrantListEntry['Constraints'] }) {
  const eq = Object.entries(c?.EncryptionContextEquals ?? {});
  const sub = Object.entries(c?.EncryptionContextSubset ?? {});
  if (eq.length === 0 && sub.length === 0) return <span class="muted">none</span>;
  const pairs = (p: [string, string][]) => p.map(([k, v]) => `${k}=${v}`).join(', ');
  return (
    <span data-testid="grant-constraints">
      {eq.length > 0 && <span>Encryption context equals {pairs(eq)}</span>}
      {sub.length > 0 && <span>Encryption context includes {pairs(sub)}</span>}
    </span>
  );
}

/** Grants on the key with their grantee, operations and constraints; revoke (confirmed). */
export function GrantsSection({ session, keyId }: { session: Session; keyId: string }) {
  const client = kms(session);
  const data = useAsync(
    () =>
      allPages(async (Marker) => {
        const r = await client.send(new ListGrantsCommand({ KeyId: keyId, Marker }));
        return { items: r.Grants ?? [], next: r.Truncated ? r.NextMarker : undefined };
      }),
    [session, keyId],
  );
  const guarded = useGuarded();
  const { act, denied } = guarded;
  const { dialog, ask } = useConfirm();
  const revoke = async (g: GrantListEntry) => {
    const ok = await ask({
      title: 'Revoke this grant?',
      body: (
        <p>
          <span class="mono">{g.GranteePrincipal}</span> loses the operations it allows at once.
        </p>
      ),
      confirm: 'Revoke grant',
      danger: true,
    });
    if (
      ok &&
      (await guarded.run('kms:RevokeGrant', 'Revoking grant…', () =>
        client.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: g.GrantId as string })),
      ))
    )
      data.reload();
  };
  return (
    <div class="card" aria-labelledby="grants-h">
      {dialog}
      <h2 id="grants-h">Grants</h2>
      <ErrorBox error={data.error} />
      {data.data?.length === 0 && <p class="muted">No grants.</p>}
      {data.data !== undefined && data.data.length > 0 && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Grant</th>
              <th scope="col">Grantee</th>
              <th scope="col">Operations</th>
              <th scope="col">Constraints</th>
              <th scope="col">Retiring principal</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span class="sr-only">Revoke</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.data.map((g) => (
              <tr key={g.GrantId} data-grant-id={g.GrantId}>
                <td data-label="Grant">
                  {g.Name ? <div>{g.Name}</div> : null}
                  <Id value={g.GrantId} class="muted" />
                </td>
                <td data-label="Grantee">
                  <Id value={g.GranteePrincipal} />
                </td>
                <td data-label="Operations">{g.Operations?.join(', ')}</td>
                <td data-label="Constraints">
                  <Constraints c={g.Constraints} />
                </td>
                <td data-label="Retiring principal">
                  {g.RetiringPrincipal ? <Id value={g.RetiringPrincipal} /> : '—'}
                </td>
                <td data-label="Created">{fmtDate(g.CreationDate)}</td>
                <td>
                  <ActionButton
                    action="kms:RevokeGrant"
                    denied={denied}
                    onClick={() => void revoke(g)}
                  >
                    Revoke
                  </ActionButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
      <DeniedList denied={denied} />
    </div>
  );
}
