/** Keys: every key with its aliases, state and tags; filter, sort, open one. */
import {
  DescribeKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  type AliasListEntry,
  type KeyMetadata,
  type Tag,
} from '@aws-sdk/client-kms';
import { useMemo, useState } from 'preact/hooks';
import { allPages, kms, mapLimit, type Session } from '../api';
import { Badge, Busy, ErrorBox, fmtDate, Link, Page, useAsync } from '../ui';

interface Row {
  meta: KeyMetadata;
  aliases: string[];
  tags: Tag[];
}

type SortKey = 'alias' | 'id' | 'state' | 'created' | 'spec';

export async function listAliases(s: Session, keyId?: string): Promise<AliasListEntry[]> {
  return allPages(async (Marker) => {
    const r = await kms(s).send(
      new ListAliasesCommand({ Marker, ...(keyId ? { KeyId: keyId } : {}) }),
    );
    return { items: r.Aliases ?? [], next: r.Truncated ? r.NextMarker : undefined };
  });
}

async function loadKeys(
  s: Session,
  progress: (done: number, total: number) => void,
): Promise<Row[]> {
  const client = kms(s);
  const keys = await allPages(async (Marker) => {
    const r = await client.send(new ListKeysCommand({ Marker }));
    return { items: r.Keys ?? [], next: r.Truncated ? r.NextMarker : undefined };
  });
  const aliases = await listAliases(s);
  progress(0, keys.length);
  return mapLimit(
    keys,
    6,
    async (k) => {
      const id = k.KeyId as string;
      const { KeyMetadata: meta } = await client.send(new DescribeKeyCommand({ KeyId: id }));
      // Tags need kms:ListResourceTags; a key the caller cannot read tags of still shows.
      const tags = await client
        .send(new ListResourceTagsCommand({ KeyId: id }))
        .then((r) => r.Tags ?? [])
        .catch(() => [] as Tag[]);
      return {
        meta: meta as KeyMetadata,
        aliases: aliases.filter((a) => a.TargetKeyId === id).map((a) => a.AliasName as string),
        tags,
      };
    },
    (done) => progress(done, keys.length),
  );
}

const STATES = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'Unavailable'];

function sortValue(r: Row, k: SortKey): string {
  switch (k) {
    case 'alias':
      return r.aliases[0] ?? '\uffff';
    case 'id':
      return r.meta.KeyId ?? '';
    case 'state':
      return r.meta.KeyState ?? '';
    case 'spec':
      return r.meta.KeySpec ?? '';
    case 'created':
      return r.meta.CreationDate?.toISOString() ?? '';
  }
}

export function Keys({ session }: { session: Session }) {
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const list = useAsync(
    () => loadKeys(session, (done, total) => setProgress({ done, total })),
    [session],
  );
  const [filter, setFilter] = useState('');
  const [state, setState] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; asc: boolean }>({ key: 'created', asc: false });

  const rows = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const match = (r: Row) =>
      f === '' ||
      [
        r.meta.KeyId,
        r.meta.Description,
        ...r.aliases,
        ...r.tags.map((t) => `${t.TagKey}=${t.TagValue}`),
      ]
        .filter((x): x is string => typeof x === 'string')
        .some((x) => x.toLowerCase().includes(f));
    const out = (list.data ?? []).filter(
      (r) => match(r) && (state === '' || r.meta.KeyState === state),
    );
    out.sort((a, b) => {
      const c = sortValue(a, sort.key).localeCompare(sortValue(b, sort.key));
      return sort.asc ? c : -c;
    });
    return out;
  }, [list.data, filter, state, sort]);

  const header = (key: SortKey, label: string) => (
    <th scope="col" aria-sort={sort.key === key ? (sort.asc ? 'ascending' : 'descending') : 'none'}>
      <button
        type="button"
        class="sort"
        onClick={() => setSort((s) => ({ key, asc: s.key === key ? !s.asc : true }))}
      >
        {label}
        <span aria-hidden="true">{sort.key === key ? (sort.asc ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );

  return (
    <Page
      title="Keys"
      actions={
        <>
          <button type="button" onClick={list.reload}>
            Refresh
          </button>
          <Link to="/create" class="button primary">
            Create key
          </Link>
        </>
      }
    >
      <div class="toolbar" role="search">
        <label>
          Filter
          <input
            type="search"
            name="filter"
            value={filter}
            placeholder="alias, key ID, description or tag"
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </label>
        <label>
          State
          <select name="state" value={state} onChange={(e) => setState(e.currentTarget.value)}>
            <option value="">Any state</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={list.error} />
      {list.loading && (
        <Busy
          label={
            progress && progress.total > 0
              ? `Loading key ${progress.done} of ${progress.total}…`
              : 'Loading keys…'
          }
          value={progress?.done}
          max={progress?.total}
        />
      )}
      {list.data !== undefined && (
        <table class="list keys">
          <caption class="sr-only">KMS keys, {rows.length} shown</caption>
          <thead>
            <tr>
              {header('alias', 'Aliases')}
              {header('id', 'Key ID')}
              {header('state', 'State')}
              {header('spec', 'Key spec')}
              {header('created', 'Created')}
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.meta.KeyId} data-key-id={r.meta.KeyId}>
                <td data-label="Aliases">{r.aliases.length > 0 ? r.aliases.join(', ') : '—'}</td>
                <td data-label="Key ID">
                  <Link to={`/keys/${r.meta.KeyId}`} class="mono">
                    {r.meta.KeyId}
                  </Link>
                  {r.meta.Description ? <div class="muted">{r.meta.Description}</div> : null}
                </td>
                <td data-label="State">
                  <Badge state={r.meta.KeyState} />
                </td>
                <td data-label="Key spec">
                  {r.meta.KeySpec}
                  <div class="muted">{r.meta.KeyUsage}</div>
                </td>
                <td data-label="Created">{fmtDate(r.meta.CreationDate)}</td>
                <td data-label="Tags">
                  {r.tags.length === 0
                    ? '—'
                    : r.tags.map((t) => (
                        <span class="tag" key={t.TagKey}>
                          {t.TagKey}={t.TagValue}
                        </span>
                      ))}
                </td>
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={6}>No keys match.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </Page>
  );
}
