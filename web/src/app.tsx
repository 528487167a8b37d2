/** The console shell: header, navigation, and the page for the current path. */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { isRoot, loadSession, saveSession, servedRegions, type Session } from './api';
import { Aliases } from './pages/aliases';
import { Audit } from './pages/audit';
import { CreateKey } from './pages/create-key';
import { Explain } from './pages/explain';
import { KeyDetail } from './pages/key-detail';
import { KeyStores } from './pages/key-stores';
import { Keys } from './pages/keys';
import { SignIn } from './pages/sign-in';
import { navigate, useRoute } from './router';
import { Link, Page, useAsync } from './ui';

const NAV: { to: string; label: string; admin?: boolean }[] = [
  { to: '/keys', label: 'Keys' },
  { to: '/create', label: 'Create key' },
  { to: '/aliases', label: 'Aliases' },
  { to: '/key-stores', label: 'Key stores' },
  { to: '/audit', label: 'Audit log', admin: true },
  { to: '/explain', label: 'Why denied?', admin: true },
];

function fresh(s: Session | undefined): Session | undefined {
  if (s?.expiration !== undefined && new Date(s.expiration).getTime() < Date.now()) {
    saveSession(undefined);
    return undefined;
  }
  return s;
}

function route(path: string, query: URLSearchParams, session: Session) {
  const key = /^\/keys\/([^/]+)$/.exec(path);
  if (key !== null)
    return (
      <KeyDetail
        session={session}
        keyId={decodeURIComponent(key[1] as string)}
        created={query.get('created') === '1'}
        tab={query.get('tab')}
      />
    );
  switch (path) {
    case '/':
    case '/keys':
      return <Keys session={session} />;
    case '/create':
      return <CreateKey session={session} />;
    case '/aliases':
      return <Aliases session={session} />;
    case '/key-stores':
      return <KeyStores session={session} />;
    case '/audit':
      return <Audit session={session} />;
    case '/explain':
      return <Explain session={session} initial={query} />;
    default:
      return (
        <Page title="Not found">
          <p>
            There is no page here. <Link to="/keys">Go to the keys.</Link>
          </p>
        </Page>
      );
  }
}

/** Switch Region without signing out: the same credentials sign for another Region. */
function RegionSelect(props: { session: Session; onChange: (s: Session) => void }) {
  const regions = useAsync(servedRegions, []);
  const list = [...new Set([props.session.region, ...(regions.data ?? [])])];
  return (
    <label class="region">
      <span class="sr-only">Region</span>
      <select
        name="region"
        aria-label="Region"
        value={props.session.region}
        onChange={(e) => props.onChange({ ...props.session, region: e.currentTarget.value })}
      >
        {list.map((r) => (
          <option key={r}>{r}</option>
        ))}
      </select>
    </label>
  );
}

export function App() {
  const [session, setSession] = useState(() => fresh(loadSession()));
  const { path, query, visit } = useRoute();
  const signOut = () => {
    saveSession(undefined);
    setSession(undefined);
    navigate('/', true);
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link to="/keys" class="brand">
          keyhold <span>console</span>
        </Link>
        {session !== undefined && (
          <div class="who">
            <span class="mono wrap" data-testid="caller-arn" title="Signed in as">
              {session.arn}
            </span>
            <RegionSelect
              session={session}
              onChange={(s) => {
                saveSession(s);
                setSession(s);
                navigate('/keys');
              }}
            />
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      {session !== undefined && (
        <nav aria-label="Console">
          <ul>
            {NAV.filter((n) => !n.admin || isRoot(session)).map((n) => (
              <li key={n.to}>
                <Link
                  to={n.to}
                  aria-current={
                    path === n.to || (n.to === '/keys' && path.startsWith('/keys'))
                      ? 'page'
                      : undefined
                  }
                >
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main id="main">
        {session === undefined ? (
          <SignIn
            onSignedIn={(s) => {
              saveSession(s);
              setSession(s);
              if (path === '/') navigate('/keys', true);
            }}
          />
        ) : (
          <Fragment key={visit}>{route(path, query, session)}</Fragment>
        )}
      </main>
    </>
  );
}
