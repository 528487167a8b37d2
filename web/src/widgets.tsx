/**
 * Widgets the key pages share: tabs (WAI-ARIA tabs pattern, the tab kept in the URL), a
 * confirmation dialog (a modal <dialog>, focus inside, Escape cancels), permission-aware
 * action buttons, and file downloads.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { explainError } from './errors';
import { useAction } from './ui';

export interface TabSpec {
  id: string;
  label: string;
}

/** Tabs; `onSelect` is called with the tab id. Arrow keys, Home and End move between tabs. */
export function Tabs(props: {
  tabs: TabSpec[];
  selected: string;
  onSelect: (id: string) => void;
  label: string;
  children: ComponentChildren;
}): JSX.Element {
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const move = (e: KeyboardEvent) => {
    const i = props.tabs.findIndex((t) => t.id === props.selected);
    const n = props.tabs.length;
    const to =
      e.key === 'ArrowRight'
        ? (i + 1) % n
        : e.key === 'ArrowLeft'
          ? (i - 1 + n) % n
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? n - 1
              : -1;
    if (to < 0) return;
    e.preventDefault();
    const id = (props.tabs[to] as TabSpec).id;
    props.onSelect(id);
    refs.current[id]?.focus();
  };
  return (
    <div class="tabs">
      <div role="tablist" aria-label={props.label} onKeyDown={move}>
        {props.tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-controls={`panel-${t.id}`}
            aria-selected={t.id === props.selected}
            tabIndex={t.id === props.selected ? 0 : -1}
            ref={(el) => {
              refs.current[t.id] = el;
            }}
            onClick={() => props.onSelect(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`panel-${props.selected}`}
        aria-labelledby={`tab-${props.selected}`}
        class="tabpanel"
      >
        {props.children}
      </div>
    </div>
  );
}

export interface ConfirmOptions {
  title: string;
  body: ComponentChildren;
  confirm: string;
  danger?: boolean;
}

/**
 * A confirmation dialog: `ask(options)` opens it and resolves true only when the person
 * presses the confirm button. Render `dialog` once in the component.
 */
export function useConfirm(): {
  dialog: JSX.Element;
  ask: (o: ConfirmOptions) => Promise<boolean>;
} {
  const ref = useRef<HTMLDialogElement>(null);
  const [opts, setOpts] = useState<ConfirmOptions>();
  const resolver = useRef<((ok: boolean) => void) | undefined>(undefined);
  useEffect(() => {
    if (opts !== undefined && ref.current?.open === false) ref.current.showModal();
  }, [opts]);
  const close = (ok: boolean) => {
    ref.current?.close();
    setOpts(undefined);
    resolver.current?.(ok);
    resolver.current = undefined;
  };
  const ask = (o: ConfirmOptions) =>
    new Promise<boolean>((resolve) => {
      resolver.current = resolve;
      setOpts(o);
    });
  const dialog = (
    <dialog
      ref={ref}
      class="confirm"
      aria-labelledby="confirm-h"
      onCancel={(e) => {
        e.preventDefault();
        close(false);
      }}
    >
      {opts !== undefined && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            close(true);
          }}
        >
          <h2 id="confirm-h">{opts.title}</h2>
          <div class="confirm-body">{opts.body}</div>
          <div class="row">
            <button type="button" onClick={() => close(false)}>
              Cancel
            </button>
            <button type="submit" class={opts.danger === true ? 'danger' : 'primary'}>
              {opts.confirm}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
  return { dialog, ask };
}

/** The KMS action an AccessDeniedException names ("… not authorized to perform: kms:X …"). */
export function deniedAction(err: unknown): string | undefined {
  const e = explainError(err);
  if (e.name !== 'AccessDeniedException') return undefined;
  return /not authorized to perform: (kms:[A-Za-z]+)/.exec(e.detail)?.[1] ?? 'this action';
}

/**
 * Actions this person was refused on this page. A refused action's button is disabled
 * with the reason next to it, instead of failing again with the same AccessDenied box.
 */
export function useDenied(): {
  denied: ReadonlyMap<string, string>;
  note: (action: string, err: unknown) => boolean;
} {
  const [denied, setDenied] = useState<ReadonlyMap<string, string>>(new Map());
  const note = (action: string, err: unknown) => {
    if (deniedAction(err) === undefined) return false;
    setDenied((d) => new Map(d).set(action, explainError(err).detail));
    return true;
  };
  return { denied, note };
}

/**
 * useAction plus refusals: `run(action, label, fn)` resolves true when `fn` succeeded; an
 * AccessDeniedException is recorded against `action` (its button then says why) and
 * shown once, not as an error box on every try.
 */
export function useGuarded() {
  const act = useAction();
  const { denied, note } = useDenied();
  const run = async (action: string, label: string, fn: () => Promise<unknown>) => {
    let refused = false;
    const ok = await act.run(label, async () => {
      try {
        await fn();
      } catch (e) {
        if (!note(action, e)) throw e;
        refused = true;
      }
    });
    return ok && !refused;
  };
  return { act, denied, run };
}

/** The refusals recorded by useGuarded, each with the server's message. */
export function DeniedList({ denied }: { denied: ReadonlyMap<string, string> }) {
  return (
    <>
      {[...denied].map(([action, message]) => (
        <p key={action} class="error-text" data-denied={action}>
          Not allowed: {action}. {message}
        </p>
      ))}
    </>
  );
}

/** A button for `action` (e.g. kms:DisableKey): disabled with a visible reason when refused. */
export function ActionButton(props: {
  action: string;
  denied: ReadonlyMap<string, string>;
  onClick: () => void;
  children: ComponentChildren;
  disabled?: boolean;
  why?: string;
  class?: string;
}): JSX.Element {
  const refused = props.denied.get(props.action);
  const reason = refused !== undefined ? `You are not allowed to call ${props.action}.` : props.why;
  const id = `why-${props.action.replace(':', '-')}`;
  return (
    <span class="action">
      <button
        type="button"
        class={props.class}
        disabled={refused !== undefined || props.disabled === true}
        aria-describedby={reason !== undefined ? id : undefined}
        onClick={props.onClick}
        data-action={props.action}
      >
        {props.children}
      </button>
      {reason !== undefined && (props.disabled === true || refused !== undefined) && (
        <span class="reason muted" id={id} title={refused}>
          {reason}
        </span>
      )}
    </span>
  );
}

/** Save bytes or text as a file (a Blob URL on a temporary link). */
export function download(name: string, data: Uint8Array | string, type: string): void {
  const blob = new Blob([data as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** DER SubjectPublicKeyInfo → PEM "PUBLIC KEY". */
export function toPem(der: Uint8Array, label = 'PUBLIC KEY'): string {
  let bin = '';
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}
