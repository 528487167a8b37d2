/** The keys list's cells: a part that is loading, loaded or failed; failures; alias hits. */
import type { AliasListEntry } from '@aws-sdk/client-kms';
import type { JSX } from 'preact';
import { explainError } from '../errors';
import { Link } from '../ui';
import { failed, type KeyRow, type Part } from './keys-data';

/** A cell whose call failed: the AWS error name, the message on hover. */
export function CellError({ error }: { error: unknown }) {
  const e = explainError(error);
  return (
    <span class="cell-error" data-error-name={e.name} title={`${e.plain} ${e.detail}`}>
      ⚠ {e.name}
    </span>
  );
}

export function Cell<T>(props: { part: Part<T>; children: (v: T) => JSX.Element | string }) {
  const p = props.part;
  if (p.state === 'loading')
    return (
      <span class="muted" aria-label="loading">
        …
      </span>
    );
  if (p.state === 'failed') return <CellError error={p.error} />;
  return <>{props.children(p.value)}</>;
}

/** Which calls failed on this page, by error name, with a way to try them again. */
export function Failures(props: { rows: KeyRow[]; onRetry: () => void }) {
  const meta = props.rows.filter((r) => failed(r.meta));
  const tags = props.rows.filter((r) => failed(r.tags));
  if (meta.length === 0 && tags.length === 0) return null;
  const names = new Set(
    [...meta.map((r) => r.meta), ...tags.map((r) => r.tags)].map(
      (p) => explainError((p as { error: unknown }).error).name,
    ),
  );
  const what = [
    meta.length > 0 ? `the details of ${meta.length} key${meta.length === 1 ? '' : 's'}` : '',
    tags.length > 0 ? `the tags of ${tags.length} key${tags.length === 1 ? '' : 's'}` : '',
  ]
    .filter((x) => x !== '')
    .join(' and ');
  return (
    <div class="error" role="alert" data-testid="row-failures">
      <strong class="error-name">{[...names].join(', ')}</strong>
      <p>
        Could not load {what} on this page, even after retrying; they are marked ⚠ in their rows.
        {names.has('ThrottlingException') &&
          ' keyhold is limiting the request rate: wait a moment, then retry.'}
      </p>
      <button type="button" onClick={props.onRetry}>
        Retry failed
      </button>
    </div>
  );
}

/** Aliases matching the filter whose keys are on other pages (all aliases are loaded). */
export function ElsewhereMatches(props: {
  aliases: AliasListEntry[];
  filter: string;
  onPage: Set<string>;
}) {
  const hits = props.aliases.filter(
    (a) =>
      a.TargetKeyId !== undefined &&
      !props.onPage.has(a.TargetKeyId) &&
      (a.AliasName ?? '').toLowerCase().includes(props.filter),
  );
  if (hits.length === 0) return null;
  return (
    <div class="note" data-testid="elsewhere">
      Aliases on other pages that match:{' '}
      {hits.slice(0, 10).map((a, i) => (
        <span key={a.AliasName}>
          {i > 0 && ', '}
          <Link to={`/keys/${a.TargetKeyId}`} class="mono">
            {a.AliasName}
          </Link>
        </span>
      ))}
      {hits.length > 10 && ` and ${hits.length - 10} more`}
    </div>
  );
}
