/** Edit a key policy: live JSON validation, a diff before saving, then PutKeyPolicy. */
import { PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { useMemo, useState } from 'preact/hooks';
import { kms, type Session } from '../api';
import { checkPolicyJson, diffLines, pretty } from '../policy';
import { Busy, ErrorBox, useAction } from '../ui';

export function PolicyEditor(props: {
  session: Session;
  keyId: string;
  policy: string;
  onSaved: () => void;
}) {
  const current = useMemo(() => pretty(props.policy), [props.policy]);
  const [draft, setDraft] = useState(current);
  const [reviewing, setReviewing] = useState(false);
  const [saved, setSaved] = useState(false);
  const act = useAction();
  const check = checkPolicyJson(draft);
  const changed = pretty(draft) !== current;
  const diff = useMemo(
    () => (reviewing ? diffLines(current, pretty(draft)) : []),
    [reviewing, current, draft],
  );

  const save = () =>
    act
      .run('Saving key policy…', async () => {
        await kms(props.session).send(
          new PutKeyPolicyCommand({ KeyId: props.keyId, PolicyName: 'default', Policy: draft }),
        );
      })
      .then((ok) => {
        if (!ok) return;
        setReviewing(false);
        setSaved(true);
        props.onSaved();
      });

  return (
    <div class="card" aria-labelledby="policy-h">
      <h2 id="policy-h">Key policy</h2>
      {!reviewing ? (
        <>
          <label for="policy-text">Policy document (JSON)</label>
          <textarea
            id="policy-text"
            name="policy"
            class="code"
            rows={18}
            spellcheck={false}
            value={draft}
            aria-invalid={!check.ok}
            aria-describedby="policy-check"
            onInput={(e) => {
              setDraft(e.currentTarget.value);
              setSaved(false);
            }}
          />
          <p
            id="policy-check"
            class={check.ok ? 'ok-text' : 'error-text'}
            aria-live="polite"
            data-testid="policy-check"
          >
            {check.ok
              ? changed
                ? 'Valid JSON. Review the changes before saving.'
                : 'Valid JSON, unchanged.'
              : check.message}
          </p>
          {saved && (
            <p class="ok-text" role="status">
              Key policy saved.
            </p>
          )}
          <div class="row">
            <button
              type="button"
              class="primary"
              disabled={!check.ok || !changed}
              onClick={() => setReviewing(true)}
            >
              Review changes
            </button>
            <button type="button" disabled={!changed} onClick={() => setDraft(current)}>
              Discard edits
            </button>
          </div>
        </>
      ) : (
        <>
          <p>Changes to the key policy (− current, + new):</p>
          <pre class="diff" aria-label="Policy diff" data-testid="policy-diff">
            {diff.map((l, i) => (
              <div key={i} class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>
                {l.op} {l.text}
              </div>
            ))}
          </pre>
          <div class="row">
            <button
              type="button"
              class="primary"
              onClick={() => void save()}
              disabled={act.busy !== undefined}
            >
              Save key policy
            </button>
            <button type="button" onClick={() => setReviewing(false)}>
              Back to editing
            </button>
          </div>
        </>
      )}
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
    </div>
  );
}
