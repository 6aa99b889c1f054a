import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api } from './lib/api.js';
import { openSession, signIn, signOut, type Session } from './lib/session.js';
import { Jobs } from './views/jobs.js';
import { Keys } from './views/keys.js';
import { Overview } from './views/overview.js';
import { Providers } from './views/providers.js';
import { Requests } from './views/requests.js';

const VIEWS = [
  ['overview', 'Overview'],
  ['providers', 'Providers'],
  ['keys', 'Keys and teams'],
  ['requests', 'Requests'],
  ['jobs', 'Async jobs and batches'],
] as const;
type View = (typeof VIEWS)[number][0];

const api = (key: string | null) => new Api(key);

function viewOfHash(): View {
  const name = location.hash.replace(/^#\/?/, '');
  return (VIEWS.find(([v]) => v === name)?.[0] ?? 'overview') as View;
}

export function App() {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  const [view, setView] = useState<View>(viewOfHash());

  useEffect(() => {
    void openSession(api, sessionStorage).then(setSession);
    const onHash = () => setView(viewOfHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  if (session.state === 'loading') return <p class="center muted">Loading…</p>;
  if (session.state === 'refused') {
    return (
      <main class="center">
        <h1>Conduit</h1>
        <p class="error" role="alert">
          {session.message}
        </p>
      </main>
    );
  }
  if (session.state === 'signed_out') return <SignIn error={session.error} onSignIn={(key) => signIn(api, sessionStorage, key).then(setSession)} />;
  return <Signed session={session} view={view} onSignOut={() => setSession(signOut(sessionStorage))} />;
}

function Signed({ session, view, onSignOut }: { session: Extract<Session, { state: 'signed_in' }>; view: View; onSignOut: () => void }) {
  const client = useMemo(() => api(session.key), [session.key]);
  const { info } = session;
  return (
    <>
      <header class="top">
        <h1>Conduit</h1>
        <nav aria-label="Views">
          {VIEWS.map(([v, label]) => (
            <a key={v} href={`#/${v}`} aria-current={view === v ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        {session.key !== null && (
          <button type="button" class="link" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </header>
      {info.auth === 'off' && (
        <div class="banner" role="note">
          Gateway auth is off: the gateway and this dashboard are open without a key (the dashboard only to this machine). Configure <code>auth</code> with an <code>admin_key</code> before exposing the gateway.
        </div>
      )}
      {!info.request_log.enabled && <div class="banner">The request log is off (<code>request_log.enabled: false</code>): traffic figures and recent requests stay empty.</div>}
      <main>
        {view === 'overview' && <Overview api={client} info={info} />}
        {view === 'providers' && <Providers api={client} />}
        {view === 'keys' && <Keys api={client} enabled={info.keys_api} />}
        {view === 'requests' && <Requests api={client} logBodies={info.log_bodies} />}
        {view === 'jobs' && <Jobs api={client} />}
      </main>
    </>
  );
}

function SignIn({ error, onSignIn }: { error?: string; onSignIn: (key: string) => Promise<void> }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main class="center">
      <form
        class="panel signin"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          void onSignIn(key).finally(() => setBusy(false));
        }}
      >
        <h1>Conduit</h1>
        <p class="muted">Sign in with the gateway's admin key (auth.admin_key).</p>
        <label for="admin-key">Admin key</label>
        <input id="admin-key" type="text" class="secret" autoComplete="off" spellcheck={false} value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
