/** Sign in with an access key (and optionally assume a role). Nothing leaves this origin. */
import { useState } from 'preact/hooks';
import { signIn, type Session } from '../api';
import { Busy, ErrorBox, Page } from '../ui';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [region, setRegion] = useState('us-east-1');
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secretAccessKey, setSecret] = useState('');
  const [sessionToken, setToken] = useState('');
  const [roleArn, setRoleArn] = useState('');
  const [sessionName, setSessionName] = useState('console');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const s = await signIn(
        region.trim(),
        {
          accessKeyId: accessKeyId.trim(),
          secretAccessKey: secretAccessKey.trim(),
          sessionToken: sessionToken.trim() || undefined,
        },
        roleArn.trim() !== '' ? { roleArn: roleArn.trim(), sessionName } : undefined,
      );
      onSignedIn(s);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title="Sign in">
      <form class="card narrow" onSubmit={submit} aria-describedby="signin-note">
        <p id="signin-note" class="note">
          The console signs every call in this browser with SigV4, like the AWS CLI. Your keys stay
          in this tab's session storage and are forgotten when you close it or sign out.
        </p>
        <label>
          Region
          <input
            name="region"
            value={region}
            required
            onInput={(e) => setRegion(e.currentTarget.value)}
          />
        </label>
        <label>
          Access key ID
          <input
            name="accessKeyId"
            value={accessKeyId}
            required
            autoComplete="username"
            spellcheck={false}
            onInput={(e) => setAccessKeyId(e.currentTarget.value)}
          />
        </label>
        <label>
          Secret access key
          <input
            name="secretAccessKey"
            type="password"
            value={secretAccessKey}
            required
            autoComplete="current-password"
            onInput={(e) => setSecret(e.currentTarget.value)}
          />
        </label>
        <details>
          <summary>Session token or assume a role (optional)</summary>
          <label>
            Session token
            <input
              name="sessionToken"
              value={sessionToken}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          </label>
          <label>
            Role ARN to assume
            <input
              name="roleArn"
              value={roleArn}
              placeholder="arn:aws:iam::111122223333:role/KeyAdmin"
              onInput={(e) => setRoleArn(e.currentTarget.value)}
            />
          </label>
          <label>
            Role session name
            <input
              name="sessionName"
              value={sessionName}
              onInput={(e) => setSessionName(e.currentTarget.value)}
            />
          </label>
        </details>
        <ErrorBox error={error} />
        {busy && <Busy label="Checking credentials…" />}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </Page>
  );
}
