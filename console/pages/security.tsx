/** Users (SCRAM credentials), ACLs and client quotas: list, add, remove, through the Kafka admin requests of the same names. */
import { useState } from 'preact/hooks';
import { api, ApiError, enc, get } from '../api';
import { Card, ErrorBox, useLoad } from '../util';

const RESOURCE = ['', '', 'TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID', 'DELEGATION_TOKEN', 'USER'];
const PATTERN = ['', '', '', 'LITERAL', 'PREFIXED'];
const OPERATION = ['', '', 'ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE'];
const PERMISSION = ['', '', 'DENY', 'ALLOW'];

const notAllowed = (e: Error | null) => e instanceof ApiError && e.status === 403;

function Users() {
  const users = useLoad(() => get('/console/api/users'), []);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [mechanism, setMechanism] = useState('SCRAM-SHA-256');
  const [error, setError] = useState<Error | null>(null);
  const add = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api('POST', '/console/api/users', { name, password, mechanism });
      setPassword('');
      users.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const remove = async (user: string, m: string) => {
    try {
      await api('DELETE', `/console/api/users/${enc(user)}?mechanism=${enc(m)}`);
      users.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <Card title="Users (SCRAM)">
      {notAllowed(users.error) ? <p class="muted">Listing users is not allowed for this user.</p> : <ErrorBox error={users.error} />}
      {users.data && (
        <table data-testid="users">
          <thead><tr><th>user</th><th>mechanisms</th><th></th></tr></thead>
          <tbody>
            {users.data.users.map((u: any) => (
              <tr key={u.name}>
                <td>{u.name}</td>
                <td>{u.mechanisms.map((m: any) => `${m.mechanism} (${m.iterations})`).join(', ')}</td>
                <td>{u.mechanisms.map((m: any) => <button key={m.mechanism} class="link" onClick={() => remove(u.name, m.mechanism)}>remove {m.mechanism}</button>)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="row" onSubmit={add}>
        <input placeholder="user" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <input placeholder="password" type="password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        <select value={mechanism} onChange={(e) => setMechanism((e.target as HTMLSelectElement).value)}>
          <option>SCRAM-SHA-256</option>
          <option>SCRAM-SHA-512</option>
        </select>
        <button type="submit">Add or change user</button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

function Acls() {
  const acls = useLoad(() => get('/console/api/acls'), []);
  const [form, setForm] = useState({ principal: 'User:', resource_type: 2, resource_name: '', pattern_type: 3, operation: 3, permission: 3, host: '*' });
  const [error, setError] = useState<Error | null>(null);
  const set = (k: string, v: string | number) => setForm({ ...form, [k]: v });
  const add = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api('POST', '/console/api/acls', form);
      acls.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const remove = async (a: any) => {
    try {
      await api('POST', '/console/api/acls/delete', a);
      acls.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const select = (k: 'resource_type' | 'pattern_type' | 'operation' | 'permission', names: string[]) => (
    <select value={form[k]} onChange={(e) => set(k, Number((e.target as HTMLSelectElement).value))}>
      {names.map((n, i) => (n ? <option key={i} value={i}>{n}</option> : null))}
    </select>
  );
  return (
    <Card title="ACLs">
      {notAllowed(acls.error) ? <p class="muted">Describing ACLs is not allowed for this user.</p> : <ErrorBox error={acls.error} />}
      {acls.data && !acls.data.enabled && <p class="muted">No authorizer on this broker (authorizer.class.name): every request is allowed.</p>}
      {acls.data?.enabled && (
        <table data-testid="acls">
          <thead><tr><th>principal</th><th>resource</th><th>pattern</th><th>operation</th><th>permission</th><th>host</th><th></th></tr></thead>
          <tbody>
            {acls.data.acls.map((a: any, i: number) => (
              <tr key={i}>
                <td>{a.principal}</td><td>{RESOURCE[a.resource_type]} {a.resource_name}</td><td>{PATTERN[a.pattern_type]}</td><td>{OPERATION[a.operation]}</td><td>{PERMISSION[a.permission]}</td><td>{a.host}</td>
                <td><button class="link" onClick={() => remove(a)}>remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="row" onSubmit={add}>
        <input placeholder="User:alice" value={form.principal} onInput={(e) => set('principal', (e.target as HTMLInputElement).value)} />
        {select('permission', PERMISSION)}
        {select('operation', OPERATION)}
        {select('resource_type', RESOURCE)}
        <input placeholder="resource name" value={form.resource_name} onInput={(e) => set('resource_name', (e.target as HTMLInputElement).value)} />
        {select('pattern_type', PATTERN)}
        <input placeholder="host" value={form.host} style={{ width: '8em' }} onInput={(e) => set('host', (e.target as HTMLInputElement).value)} />
        <button type="submit">Add ACL</button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

function Quotas() {
  const quotas = useLoad(() => get('/console/api/quotas'), []);
  const [entityType, setEntityType] = useState('user');
  const [entityName, setEntityName] = useState('');
  const [key, setKey] = useState('producer_byte_rate');
  const [value, setValue] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api('POST', '/console/api/quotas', { entity: [{ type: entityType, name: entityName === '' ? null : entityName }], key, value: value === '' ? null : Number(value) });
      quotas.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <Card title="Client quotas">
      {notAllowed(quotas.error) ? <p class="muted">Describing quotas is not allowed for this user.</p> : <ErrorBox error={quotas.error} />}
      {quotas.data && (
        <table data-testid="quotas">
          <thead><tr><th>entity</th><th>quotas</th></tr></thead>
          <tbody>
            {quotas.data.quotas.map((q: any, i: number) => (
              <tr key={i}>
                <td>{q.entity.map((x: any) => `${x.type}=${x.name ?? '<default>'}`).join(', ')}</td>
                <td>{Object.entries(q.values).map(([k, v]) => `${k}=${v}`).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="row" onSubmit={save}>
        <select value={entityType} onChange={(e) => setEntityType((e.target as HTMLSelectElement).value)}>
          <option value="user">user</option>
          <option value="client-id">client-id</option>
        </select>
        <input placeholder="name (empty: default)" value={entityName} onInput={(e) => setEntityName((e.target as HTMLInputElement).value)} />
        <select value={key} onChange={(e) => setKey((e.target as HTMLSelectElement).value)}>
          <option>producer_byte_rate</option>
          <option>consumer_byte_rate</option>
          <option>request_percentage</option>
        </select>
        <input placeholder="value (empty: remove)" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit">Set quota</button>
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

export function SecurityPage() {
  return (
    <div data-testid="security">
      <h1>Users, ACLs and quotas</h1>
      <Users />
      <Acls />
      <Quotas />
    </div>
  );
}
