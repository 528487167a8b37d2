/** "Why was this denied?": keyhold's authorization explain for a principal, action and key. */
import { useState } from 'preact/hooks';
import { admin, type Session } from '../api';
import { Busy, ErrorBox, Page, useAction } from '../ui';

interface Step {
  source: string;
  ref: string;
  effect?: string;
  matched: boolean;
  detail: string;
  conditions?: {
    key: string;
    operator: string;
    values: string[];
    requestValues?: string[];
    result: boolean;
  }[];
}

interface Explanation {
  key: string;
  principal: string;
  action: string;
  allowed: boolean;
  kind: 'allow' | 'explicit-deny' | 'implicit-deny';
  deniedBy?: string;
  reasons: Step[];
}

const KIND_TEXT: Readonly<Record<Explanation['kind'], string>> = {
  allow: 'Allowed',
  'explicit-deny': 'Denied by an explicit Deny statement',
  'implicit-deny': 'Denied: nothing allows it (implicit deny)',
};

const DENIED_BY: Readonly<Record<string, string>> = {
  'resource-policy': 'the key policy decides against it',
  'identity-policy':
    "the key policy leaves it to IAM, and the principal's IAM policies do not allow it",
};

export function Explain({ session, initial }: { session: Session; initial: URLSearchParams }) {
  const [principal, setPrincipal] = useState(initial.get('principal') ?? '');
  const [action, setAction] = useState(initial.get('action') ?? 'kms:Decrypt');
  const [key, setKey] = useState(initial.get('key') ?? '');
  const [context, setContext] = useState('');
  const [result, setResult] = useState<Explanation>();
  const act = useAction();

  const submit = (e: Event) => {
    e.preventDefault();
    setResult(undefined);
    void act.run('Evaluating policies…', async () => {
      const pairs = context
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .map((l) => {
          const i = l.indexOf('=');
          return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)];
        });
      const out = await admin<{ Explanation: Explanation }>(session, 'ExplainAuthorization', {
        PrincipalArn: principal.trim(),
        Action: action.trim(),
        KeyId: key.trim(),
        ...(pairs.length > 0 ? { EncryptionContext: Object.fromEntries(pairs) } : {}),
      });
      setResult(out.Explanation);
    });
  };

  return (
    <Page title="Why was this denied?">
      <p class="note">
        Ask keyhold how it decides a request: which key policy statements, IAM policies and grants
        it considered, and why each matched or not. The same as <code>keyhold authz explain</code>;
        account root only.
      </p>
      <form class="card" onSubmit={submit}>
        <label>
          Principal ARN
          <input
            name="principal"
            required
            value={principal}
            placeholder="arn:aws:iam::111122223333:user/alice"
            onInput={(e) => setPrincipal(e.currentTarget.value)}
          />
        </label>
        <label>
          Action
          <input
            name="action"
            required
            value={action}
            onInput={(e) => setAction(e.currentTarget.value)}
          />
        </label>
        <label>
          Key ID or key ARN
          <input name="key" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
        <label>
          Encryption context (optional, one key=value per line)
          <textarea
            name="context"
            rows={2}
            value={context}
            onInput={(e) => setContext(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={act.busy !== undefined}>
          Explain
        </button>
      </form>
      {act.busy !== undefined && <Busy label={act.busy} />}
      <ErrorBox error={act.error} />
      {result !== undefined && (
        <div class="card" data-testid="explain-result" data-allowed={String(result.allowed)}>
          <h2 class={result.allowed ? 'ok-text' : 'error-text'}>
            {KIND_TEXT[result.kind]}
            {result.deniedBy ? ` — ${DENIED_BY[result.deniedBy] ?? result.deniedBy}` : ''}
          </h2>
          <p class="mono wrap">
            {result.principal} → {result.action} on {result.key}
          </p>
          <ol class="reasons">
            {result.reasons.map((r, i) => (
              <li key={i} class={r.matched ? 'matched' : ''}>
                <strong>
                  {r.source} {r.ref}
                </strong>
                {r.effect ? ` (${r.effect})` : ''}: {r.matched ? 'applies' : 'does not apply'} —{' '}
                {r.detail}
                {r.conditions !== undefined && r.conditions.length > 0 && (
                  <ul>
                    {r.conditions.map((c, j) => (
                      <li key={j}>
                        {c.operator} {c.key} {JSON.stringify(c.values)} — request has{' '}
                        {c.requestValues === undefined
                          ? 'no value'
                          : JSON.stringify(c.requestValues)}
                        : {c.result ? 'holds' : 'does not hold'}
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ol>
        </div>
      )}
    </Page>
  );
}
