/**
 * kafka-mysql web console (docs/console.md): a Preact single-page app served by the broker
 * under /console, routed by the URL hash (#/topics/orders) so a reload needs nothing from the
 * server but index.html. Every page loads its own data from /console/api and /v3.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, credentials, get, onLoginNeeded, setClusterId, setCredentials } from './api';
import { DelayedPage } from './pages/delayed';
import { GroupPage, GroupsPage } from './pages/groups';
import { MessagesPage } from './pages/messages';
import { OverviewPage } from './pages/overview';
import { SecurityPage } from './pages/security';
import { SubscriptionsPage } from './pages/subscriptions';
import { TopicPage, TopicsPage } from './pages/topics';
import { ErrorBox } from './util';

interface WhoAmI {
  principal: string;
  authorizer: boolean;
  cluster_id: string;
  broker_id: number;
}

function useHash(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(read());
  useEffect(() => {
    const on = () => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function Login({ onDone }: { onDone(): void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setCredentials(user, password);
    try {
      await api('GET', '/console/api/whoami');
      onDone();
    } catch (err) {
      setCredentials(null);
      setError(err as Error);
    }
  };
  return (
    <form class="login card" onSubmit={submit} data-testid="login">
      <h2>Log in to kafka-mysql</h2>
      <p>With a broker user (SASL/SCRAM or PLAIN, as the Kafka listeners).</p>
      <label>
        User <input name="user" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} autoComplete="username" />
      </label>
      <label>
        Password <input name="password" type="password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} autoComplete="current-password" />
      </label>
      <button type="submit">Log in</button>
      <ErrorBox error={error} />
    </form>
  );
}

const NAV: Array<[string, string]> = [
  ['', 'Overview'],
  ['topics', 'Topics'],
  ['messages', 'Messages'],
  ['groups', 'Consumer groups'],
  ['subscriptions', 'Subscriptions'],
  ['delayed', 'Delayed'],
  ['security', 'Users & ACLs'],
];

function App() {
  const parts = useHash();
  const [me, setMe] = useState<WhoAmI | null>(null);
  const [needLogin, setNeedLogin] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const loadMe = () => {
    get<WhoAmI>('/console/api/whoami').then(
      (w) => {
        setClusterId(w.cluster_id);
        setMe(w);
        setNeedLogin(false);
      },
      (e: Error) => setError(e),
    );
  };
  useEffect(() => {
    onLoginNeeded(() => setNeedLogin(true));
    loadMe();
  }, []);
  if (needLogin) return <Login onDone={loadMe} />;
  if (!me) return <ErrorBox error={error} />;
  const [page = '', ...rest] = parts;
  let body;
  switch (page) {
    case 'topics':
      body = rest[0] ? <TopicPage name={rest[0]} /> : <TopicsPage />;
      break;
    case 'messages':
      body = <MessagesPage topic={rest[0] ?? ''} />;
      break;
    case 'groups':
      body = rest[0] ? <GroupPage id={rest[0]} /> : <GroupsPage />;
      break;
    case 'subscriptions':
      body = <SubscriptionsPage />;
      break;
    case 'delayed':
      body = <DelayedPage />;
      break;
    case 'security':
      body = <SecurityPage />;
      break;
    default:
      body = <OverviewPage />;
  }
  return (
    <div class="layout">
      <nav>
        <div class="brand">kafka-mysql</div>
        {NAV.map(([path, label]) => (
          <a key={path} href={`#/${path}`} class={page === path ? 'active' : ''}>
            {label}
          </a>
        ))}
        <div class="me" data-testid="principal">
          {me.principal}
          {credentials() && (
            <button
              class="link"
              onClick={() => {
                setCredentials(null);
                setNeedLogin(true);
              }}
            >
              log out
            </button>
          )}
        </div>
      </nav>
      <main>{body}</main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
