/**
 * Keys, a page at a time: ListKeys with Limit/Marker, aliases from one ListAliases listing,
 * details and tags for the rows on screen only. Filter and sort act on the page shown;
 * aliases match across the whole account. Nothing that failed is passed off as empty.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Session } from '../api';
import { explainError } from '../errors';
import { Badge, Busy, ErrorBox, fmtDate, Link, Page, useAsync } from '../ui';
import { Cell, CellError, ElsewhereMatches, Failures } from './keys-cells';
import {
  aliasIndex,
  DEFAULT_PAGE_SIZE,
  fillRows,
  listAliases,
  listKeyPage,
  PAGE_SIZES,
  retrying,
  type KeyRow,
} from './keys-data';

type SortKey = 'alias' | 'id' | 'state' | 'created' | 'spec';

const STATES = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'Unavailable'];
const PAGE_SIZE_KEY = 'keyhold.console.pageSize';

function savedPageSize(): number {
  const n = Number(localStorage.getItem(PAGE_SIZE_KEY));
  return (PAGE_SIZES as readonly number[]).includes(n) ? n : DEFAULT_PAGE_SIZE;
}

/** One box per kind of failure: ListAliases denied like ListKeys says nothing new. */
const sameError = (a: unknown, b: unknown) =>
  b !== undefined && explainError(a).name === explainError(b).name;

const metaOf = (r: KeyRow): KeyMetadata | undefined =>
  r.meta.state === 'ok' ? r.meta.value : undefined;

function sortValue(r: KeyRow, aliases: string[], k: SortKey): string {
  const m = metaOf(r);
  switch (k) {
    case 'alias':
      return aliases[0] ?? '\uffff';
    case 'id':
      return r.keyId;
    case 'state':
      return m?.KeyState ?? '';
    case 'spec':
      return m?.KeySpec ?? '';
    case 'created':
      return m?.CreationDate?.toISOString() ?? '';
  }
}

export function Keys({ session }: { session: Session }) {
  const [pageSize, setPageSize] = useState(savedPageSize);
  // markers[n] is the ListKeys Marker of page n (page 0 has none).
  const [markers, setMarkers] = useState<(string | undefined)[]>([undefined]);
  const [pageNo, setPageNo] = useState(0);
  const [tick, setTick] = useState(0);
  // The page last listed, tagged with the request it answers: a render after a page change
  // and before the effect runs must not show the last page's rows under the new number.
  const [loaded, setPage] = useState<{ rows: KeyRow[]; next: string | undefined; of: string }>();
  const [listError, setListError] = useState<{ error: unknown; of: string }>();
  const request = `${pageSize}/${pageNo}/${tick}`;
  const page = loaded?.of === request ? loaded : undefined;
  const listFailure = listError?.of === request ? listError.error : undefined;
  const loading = page === undefined && listFailure === undefined;
  const [filter, setFilter] = useState('');
  const [state, setState] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; asc: boolean }>();
  const aliases = useAsync(() => listAliases(session), [session, tick]);
  const byKey = useMemo(() => aliasIndex(aliases.data ?? []), [aliases.data]);

  const updateRow = (r: KeyRow) =>
    setPage((p) => p && { ...p, rows: p.rows.map((x) => (x.keyId === r.keyId ? r : x)) });

  useEffect(() => {
    let live = true;
    listKeyPage(session, pageSize, markers[pageNo]).then(
      async ({ keyIds, next }) => {
        if (!live) return;
        const rows: KeyRow[] = keyIds.map((keyId) => ({
          keyId,
          meta: { state: 'loading' },
          tags: { state: 'loading' },
        }));
        setPage({ rows, next, of: request });
        setMarkers((m) => [...m.slice(0, pageNo + 1), next]);
        await fillRows(
          session,
          rows,
          (r) => live && updateRow(r),
          () => live,
        );
      },
      (e: unknown) => {
        if (!live) return;
        setListError({ error: e, of: request });
      },
    );
    return () => {
      live = false;
    };
  }, [session, pageSize, pageNo, tick]);

  const retryFailed = () => {
    if (page === undefined) return;
    const again = page.rows.map(retrying);
    setPage({ ...page, rows: again });
    void fillRows(session, again, updateRow, () => true);
  };

  const f = filter.trim().toLowerCase();
  const rows = useMemo(() => {
    const all = page?.rows ?? [];
    const match = (r: KeyRow) => {
      if (f === '') return true;
      const m = metaOf(r);
      const tags = r.tags.state === 'ok' ? r.tags.value : [];
      return [
        r.keyId,
        m?.Description,
        ...(byKey.get(r.keyId) ?? []),
        ...tags.map((t) => `${t.TagKey}=${t.TagValue}`),
      ]
        .filter((x): x is string => typeof x === 'string')
        .some((x) => x.toLowerCase().includes(f));
    };
    const out = all.filter((r) => match(r) && (state === '' || metaOf(r)?.KeyState === state));
    if (sort !== undefined)
      out.sort((a, b) => {
        const c = sortValue(a, byKey.get(a.keyId) ?? [], sort.key).localeCompare(
          sortValue(b, byKey.get(b.keyId) ?? [], sort.key),
        );
        return sort.asc ? c : -c;
      });
    return out;
  }, [page, byKey, f, state, sort]);
  const unsearched = f === '' ? 0 : (page?.rows ?? []).filter((r) => r.tags.state !== 'ok').length;

  const header = (key: SortKey, label: string) => (
    <th
      scope="col"
      aria-sort={sort?.key === key ? (sort.asc ? 'ascending' : 'descending') : 'none'}
    >
      <button
        type="button"
        class="sort"
        onClick={() => setSort((s) => ({ key, asc: s?.key === key ? !s.asc : true }))}
      >
        {label}
        <span aria-hidden="true">{sort?.key === key ? (sort.asc ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );

  const first = pageNo * pageSize + 1;
  const pager = (
    <div class="pager" role="navigation" aria-label="Key pages">
      <label>
        Keys per page
        <select
          name="pageSize"
          value={String(pageSize)}
          onChange={(e) => {
            const n = Number(e.currentTarget.value);
            localStorage.setItem(PAGE_SIZE_KEY, String(n));
            setPageSize(n);
            setMarkers([undefined]);
            setPageNo(0);
          }}
        >
          {PAGE_SIZES.map((n) => (
            <option key={n} value={String(n)}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        disabled={pageNo === 0 || loading}
        onClick={() => setPageNo(pageNo - 1)}
      >
        Previous page
      </button>
      <span data-testid="page-range">
        Page {pageNo + 1}
        {page !== undefined && page.rows.length > 0
          ? `: keys ${first}–${first + page.rows.length - 1}`
          : ''}
      </span>
      <button
        type="button"
        disabled={page?.next === undefined || loading}
        onClick={() => setPageNo(pageNo + 1)}
      >
        Next page
      </button>
    </div>
  );

  return (
    <Page
      title="Keys"
      actions={
        <>
          <button type="button" onClick={() => setTick((t) => t + 1)}>
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
            placeholder="alias, key ID, description or tag (this page)"
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
      {pager}
      <ErrorBox error={listFailure} />
      {aliases.error !== undefined && !sameError(aliases.error, listFailure) && (
        <div data-testid="aliases-error">
          <ErrorBox error={aliases.error} />
        </div>
      )}
      {page !== undefined && <Failures rows={page.rows} onRetry={retryFailed} />}
      {f !== '' && unsearched > 0 && (
        <p class="note" data-testid="unsearched">
          The tags of {unsearched} key{unsearched === 1 ? '' : 's'} on this page are not loaded, so
          the filter could not search them.
        </p>
      )}
      {f !== '' && aliases.data !== undefined && (
        <ElsewhereMatches
          aliases={aliases.data}
          filter={f}
          onPage={new Set((page?.rows ?? []).map((r) => r.keyId))}
        />
      )}
      {loading && <Busy label="Loading keys…" />}
      {page !== undefined && (
        <table class="list keys" aria-busy={loading}>
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
            {rows.map((r) => {
              const names = byKey.get(r.keyId) ?? [];
              return (
                <tr key={r.keyId} data-key-id={r.keyId}>
                  <td data-label="Aliases">
                    {aliases.data === undefined ? (
                      aliases.error !== undefined ? (
                        <CellError error={aliases.error} />
                      ) : (
                        '…'
                      )
                    ) : names.length > 0 ? (
                      names.join(', ')
                    ) : (
                      '—'
                    )}
                  </td>
                  <td data-label="Key ID">
                    <Link to={`/keys/${r.keyId}`} class="mono nowrap-id">
                      {r.keyId}
                    </Link>
                    {metaOf(r)?.Description ? (
                      <div class="muted">{metaOf(r)?.Description}</div>
                    ) : null}
                  </td>
                  <td data-label="State">
                    <Cell part={r.meta}>{(m) => <Badge state={m.KeyState} />}</Cell>
                  </td>
                  <td data-label="Key spec">
                    <Cell part={r.meta}>
                      {(m) => (
                        <>
                          {m.KeySpec}
                          <div class="muted">{m.KeyUsage}</div>
                        </>
                      )}
                    </Cell>
                  </td>
                  <td data-label="Created">
                    <Cell part={r.meta}>{(m) => fmtDate(m.CreationDate)}</Cell>
                  </td>
                  <td data-label="Tags" data-tags={r.tags.state}>
                    <Cell part={r.tags}>
                      {(tags) =>
                        tags.length === 0 ? (
                          '—'
                        ) : (
                          <>
                            {tags.map((t) => (
                              <span class="tag" key={t.TagKey}>
                                {t.TagKey}={t.TagValue}
                              </span>
                            ))}
                          </>
                        )
                      }
                    </Cell>
                  </td>
                </tr>
              );
            })}
            {rows.length === 0 && (
              <tr>
                <td colSpan={6}>{page.rows.length === 0 ? 'No keys.' : 'No keys match.'}</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </Page>
  );
}
