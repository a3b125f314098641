import { type FormEvent, useEffect, useState } from 'react';
import { type ApiError, errorsOf, keyStore, request } from './api';
import { Boundary } from './components/Boundary';
import { ErrorNote } from './components/ErrorNote';
import { Link } from './components/Link';
import { ScreenTitle } from './components/ScreenTitle';
import { MeQuery } from './operations';
import { hrefOf, type Route, useRoute } from './router';
import { AgentScreen } from './screens/Agent';
import { AgentsScreen } from './screens/Agents';
import { SearchScreen } from './screens/Search';
import { TrashScreen } from './screens/Trash';
import { markFirstScreen, type Session, sessionOf } from './session';

/**
 * The API's answer to a bad key speaks to programs (send an Authorization header): here a person
 * typed the key into a field, so the refusal names that field.
 */
function keyRefusal(errors: ApiError[]): ApiError[] {
  return errors.map((error) =>
    error.code === 'UNAUTHENTICATED'
      ? {
          ...error,
          message: 'API key refused: it is unknown, expired or revoked, or mistyped. Check it and enter it again.',
        }
      : error,
  );
}

function KeyForm({ onSession }: { onSession(session: Session): void }) {
  const [key, setKey] = useState('');
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(markFirstScreen, []);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const { me } = await request(MeQuery, {}, key.trim());
      keyStore.set(key.trim());
      onSession(sessionOf(me));
    } catch (error) {
      setErrors(keyRefusal(errorsOf(error)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="key-form">
      <h1>AgentMem inspector</h1>
      <p>
        See what your agents remember: their core memory, conversation, long-term memories and the trash. Enter an API
        key (<code>npm start</code> prints the demo key once). It is kept in this tab only and sent only to{' '}
        <code>/graphql</code>.
      </p>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          placeholder="amk_…"
          required
          aria-invalid={errors ? true : undefined}
          aria-describedby={errors ? 'api-key-error' : undefined}
        />
        <button type="submit" disabled={busy}>
          Open
        </button>
      </form>
      <ErrorNote id="api-key-error" errors={errors} />
      <p className="muted">
        Prefer GraphQL? <a href="/graphql">GraphiQL</a> is on the same server.
      </p>
    </main>
  );
}

function Screen({ route, session }: { route: Route; session: Session }) {
  switch (route.screen) {
    case 'agents':
      return <AgentsScreen session={session} />;
    case 'agent':
      return <AgentScreen key={route.id} id={route.id} session={session} />;
    case 'search':
      return <SearchScreen />;
    case 'trash':
      return <TrashScreen session={session} />;
    default:
      return (
        <main>
          <ScreenTitle>No such page</ScreenTitle>
          <p>
            Nothing is at <code>{route.path}</code>. <Link to={{ screen: 'agents' }}>See the agents</Link>.
          </p>
        </main>
      );
  }
}

/**
 * The screen at the address, in a crash guard of its own: a screen that fails leaves the header
 * and its links, and moving to another address (a link, Back) gives a fresh guard and screen.
 */
function Screens({ session }: { session: Session }) {
  const route = useRoute();
  return (
    <Boundary key={hrefOf(route)}>
      <Screen route={route} session={session} />
    </Boundary>
  );
}

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(() => keyStore.get() !== null);
  const [errors, setErrors] = useState<ApiError[] | null>(null);
  useEffect(() => {
    if (!keyStore.get()) return;
    request(MeQuery, {}).then(
      ({ me }) => {
        setSession(sessionOf(me));
        setChecking(false);
      },
      (error: unknown) => {
        keyStore.clear();
        setErrors(keyRefusal(errorsOf(error)));
        setChecking(false);
      },
    );
  }, []);
  if (checking) return <p aria-live="polite">Checking the key…</p>;
  if (!session)
    return (
      <>
        <ErrorNote errors={errors} />
        <KeyForm onSession={setSession} />
      </>
    );
  const signOut = () => {
    keyStore.clear();
    setSession(null);
    setErrors(null);
  };
  return (
    <>
      <header className="top">
        <span className="brand">AgentMem inspector</span>
        <nav aria-label="Screens">
          <Link to={{ screen: 'agents' }}>Agents</Link>
          <Link to={{ screen: 'search' }}>Recall</Link>
          <Link to={{ screen: 'trash' }}>Trash</Link>
          <a href="/graphql">GraphiQL</a>
        </nav>
        <span className="who">
          {session.userName} · {session.organizationName} ·{' '}
          <span data-testid="scopes">{session.scopes.join(', ').toLowerCase()}</span>
        </span>
        <button type="button" onClick={signOut}>
          Forget key
        </button>
      </header>
      <Screens session={session} />
    </>
  );
}
