/** Small shared pieces: links, errors, progress, state badges, async loading. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { explainError } from './errors';
import { BASE, navigate } from './router';

export function Link(props: {
  to: string;
  children: ComponentChildren;
  class?: string;
  'aria-current'?: 'page' | undefined;
}): JSX.Element {
  const onClick = (e: MouseEvent) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to);
  };
  return (
    <a
      href={BASE + props.to}
      onClick={onClick}
      class={props.class}
      aria-current={props['aria-current']}
    >
      {props.children}
    </a>
  );
}

/** An API error: the AWS error name, what it means, and the server's own message. */
export function ErrorBox({ error }: { error: unknown }): JSX.Element | null {
  if (error === undefined || error === null) return null;
  const e = explainError(error);
  return (
    <div class="error" role="alert" data-error-name={e.name}>
      <strong class="error-name">{e.name}</strong>
      <p>{e.plain}</p>
      {e.detail !== '' && e.detail !== e.name && <p class="detail">{e.detail}</p>}
    </div>
  );
}

/** A long operation in progress: an accessible status line, with a bar when the total is known. */
export function Busy(props: { label: string; value?: number; max?: number }): JSX.Element {
  return (
    <div class="busy" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{props.label}</span>
      {props.max !== undefined && props.max > 0 && (
        <progress value={props.value ?? 0} max={props.max} aria-label={props.label} />
      )}
    </div>
  );
}

const STATE_CLASS: Readonly<Record<string, string>> = {
  Enabled: 'ok',
  Disabled: 'warn',
  PendingDeletion: 'bad',
  PendingImport: 'warn',
  PendingReplicaDeletion: 'bad',
  Unavailable: 'bad',
  Creating: 'info',
  Updating: 'info',
  CONNECTED: 'ok',
  CONNECTING: 'info',
  DISCONNECTED: 'warn',
  DISCONNECTING: 'info',
  FAILED: 'bad',
};

export function Badge({ state }: { state: string | undefined }): JSX.Element {
  const s = state ?? 'Unknown';
  return (
    <span class={`badge ${STATE_CLASS[s] ?? 'info'}`} data-state={s}>
      {s}
    </span>
  );
}

export function Page(props: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  const h = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · keyhold console`;
    // Move focus to the new page's heading so screen readers announce it.
    h.current?.focus();
  }, [props.title]);
  return (
    <section class="page">
      <div class="page-head">
        <h1 tabIndex={-1} ref={h}>
          {props.title}
        </h1>
        {props.actions !== undefined && <div class="actions">{props.actions}</div>}
      </div>
      {props.children}
    </section>
  );
}

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Load data when deps change; `reload` runs it again. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    fn().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Run one action at a time with its own error and busy state. */
export function useAction(): {
  busy: string | undefined;
  error: unknown;
  run: (label: string, fn: () => Promise<void>) => Promise<boolean>;
  clear: () => void;
} {
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const run = async (label: string, fn: () => Promise<void>) => {
    setBusy(label);
    setError(undefined);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(undefined);
    }
  };
  return { busy, error, run, clear: () => setError(undefined) };
}

export function fmtDate(d: Date | undefined): string {
  if (d === undefined) return '—';
  return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

/**
 * An id or ARN that wraps only between its parts (after ":" and "/"), never inside a UUID
 * or a name; the text copies as one string.
 */
export function Id({ value, class: cls }: { value: string | undefined; class?: string }) {
  if (value === undefined) return <span>—</span>;
  const parts = value.split(/(?<=[:/])/);
  return (
    <span class={`id ${cls ?? ''}`} data-id={value}>
      {parts.map((p, i) => (
        <span key={i}>
          <span class="id-part">{p}</span>
          {i < parts.length - 1 && <wbr />}
        </span>
      ))}
    </span>
  );
}

/** Copies `value` to the clipboard; says so for screen readers too. */
export function CopyButton({ value, label }: { value: string | undefined; label: string }) {
  const [done, setDone] = useState<'copied' | 'failed'>();
  if (value === undefined) return null;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setDone('copied');
    } catch {
      setDone('failed');
    }
    setTimeout(() => setDone(undefined), 2000);
  };
  return (
    <>
      <button type="button" class="copy" aria-label={`Copy ${label}`} onClick={() => void copy()}>
        {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed' : 'Copy'}
      </button>
      <span class="sr-only" role="status">
        {done === 'copied' ? `${label} copied` : ''}
      </span>
    </>
  );
}
