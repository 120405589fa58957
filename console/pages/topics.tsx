/** Topics: a paged, filtered list (one page of 50 from the server), create; one topic's partitions, configs, added partitions, delete. */
import { useState } from 'preact/hooks';
import { api, enc, get, v3 } from '../api';
import { Card, Confirm, ErrorBox, formatNumber, TaskStatus, useLoad, useTask } from '../util';

const PAGE = 50;

export function TopicsPage() {
  const [q, setQ] = useState('');
  const [offset, setOffset] = useState(0);
  const list = useLoad(() => get(`/console/api/topics?offset=${offset}&limit=${PAGE}&q=${enc(q)}`), [offset, q]);
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const creating = useTask();
  const create = async (e: Event) => {
    e.preventDefault();
    // Many partitions take a while (a table per partition): the form shows it pending, then goes to the topic.
    const n = Number(partitions);
    const made = await creating.run(`Creating ${name} with ${n} partition${n === 1 ? '' : 's'}`, () => api('POST', v3('/topics'), { topic_name: name, partitions_count: n }), (_, s) => `Created ${name} in ${s} s`);
    if (made !== undefined) location.hash = `#/topics/${enc(name)}`;
  };
  const d = list.data;
  return (
    <div data-testid="topics">
      <h1>Topics</h1>
      <Card title="Create a topic">
        <form class="row" onSubmit={create}>
          <input placeholder="name" name="topic_name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <input type="number" min="1" name="partitions_count" value={partitions} onInput={(e) => setPartitions((e.target as HTMLInputElement).value)} style={{ width: '6em' }} />
          <button type="submit" disabled={creating.busy}>Create</button>
        </form>
        <TaskStatus task={creating.task} />
      </Card>
      <Card
        title={d ? `${d.total} topics` : 'Topics'}
        actions={
          <input
            placeholder="filter by name"
            data-testid="topic-filter"
            value={q}
            onInput={(e) => {
              setQ((e.target as HTMLInputElement).value);
              setOffset(0);
            }}
          />
        }
      >
        <ErrorBox error={list.error} />
        {d && (
          <>
            <table data-testid="topic-list">
              <thead><tr><th>name</th><th>partitions</th><th>cleanup.policy</th><th>retention.ms</th><th>message index</th><th>in (B/s, this broker)</th></tr></thead>
              <tbody>
                {d.topics.map((t: any) => (
                  <tr key={t.name}>
                    <td><a href={`#/topics/${enc(t.name)}`}>{t.name}</a></td>
                    <td>{t.partitions}</td>
                    <td>{t.cleanup_policy}</td>
                    <td>{t.retention_ms}</td>
                    <td>{t.message_index ? 'yes' : ''}</td>
                    <td>{formatNumber(t.bytes_in_per_sec)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div class="pager">
              <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>previous</button>
              <span>{d.total === 0 ? 'none' : `${offset + 1}-${Math.min(offset + PAGE, d.total)} of ${d.total}`}</span>
              <button disabled={offset + PAGE >= d.total} onClick={() => setOffset(offset + PAGE)}>next</button>
            </div>
          </>
        )}
      </Card>
    </div>
  );
}

function ConfigRow({ topic, c, onChange }: { topic: string; c: any; onChange(): void }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(c.value ?? '');
  const [error, setError] = useState<Error | null>(null);
  const save = async () => {
    try {
      await api('PUT', v3(`/topics/${enc(topic)}/configs/${enc(c.name)}`), { value });
      setEditing(false);
      onChange();
    } catch (err) {
      setError(err as Error);
    }
  };
  const reset = async () => {
    try {
      await api('DELETE', v3(`/topics/${enc(topic)}/configs/${enc(c.name)}`));
      onChange();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <tr data-testid={`config-${c.name}`}>
      <td>{c.name}</td>
      <td>
        {editing ? (
          <span class="row">
            <input value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
            <button onClick={save}>save</button>
            <button onClick={() => setEditing(false)}>cancel</button>
          </span>
        ) : (
          <span class={c.is_default ? 'muted' : ''}>{c.value ?? '(hidden)'}</span>
        )}
        <ErrorBox error={error} />
      </td>
      <td>{c.source}</td>
      <td>
        {!c.is_read_only && !editing && <button class="link" onClick={() => setEditing(true)}>edit</button>}
        {!c.is_default && !c.is_read_only && <button class="link" onClick={reset}>reset</button>}
      </td>
    </tr>
  );
}

export function TopicPage({ name }: { name: string }) {
  const topic = useLoad(() => get(`/console/api/topics/${enc(name)}`), [name], 5000);
  const configs = useLoad(() => get(v3(`/topics/${enc(name)}/configs`)), [name]);
  const [count, setCount] = useState('');
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const addPartitions = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api('POST', `/console/api/topics/${enc(name)}/partitions`, { count: Number(count) });
      topic.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const remove = async () => {
    setConfirm(false);
    try {
      await api('DELETE', v3(`/topics/${enc(name)}`));
      location.hash = '#/topics';
    } catch (err) {
      setError(err as Error);
    }
  };
  const t = topic.data;
  return (
    <div data-testid="topic">
      <h1>
        Topic {name} <a class="small" href={`#/messages/${enc(name)}`}>messages</a>
      </h1>
      <ErrorBox error={topic.error ?? error} />
      {t && (
        <Card
          title={`${t.partitions.length} partitions`}
          actions={
            <span class="row">
              <form class="row" onSubmit={addPartitions}>
                <input type="number" placeholder="new total" data-testid="partition-count" value={count} onInput={(e) => setCount((e.target as HTMLInputElement).value)} style={{ width: '7em' }} />
                <button type="submit">Add partitions</button>
              </form>
              <button class="danger" onClick={() => setConfirm(true)}>Delete topic</button>
            </span>
          }
        >
          {confirm && <Confirm text={`Delete topic ${name} and all its records?`} onYes={remove} onNo={() => setConfirm(false)} />}
          <table data-testid="partitions">
            <thead><tr><th>partition</th><th>log start</th><th>log end</th><th>offsets</th><th>stored bytes</th><th>leader</th></tr></thead>
            <tbody>
              {t.partitions.map((p: any) => (
                <tr key={p.partition}>
                  <td>{p.partition}</td><td>{p.log_start_offset}</td><td>{p.log_end_offset}</td><td>{p.log_end_offset - p.log_start_offset}</td><td>{p.size_bytes === null ? '-' : formatNumber(p.size_bytes)}</td><td>{p.leader}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
      <Card title="Configs">
        <ErrorBox error={configs.error} />
        {configs.data && (
          <table>
            <thead><tr><th>name</th><th>value</th><th>source</th><th></th></tr></thead>
            <tbody>
              {configs.data.data.map((c: any) => <ConfigRow key={c.name} topic={name} c={c} onChange={configs.reload} />)}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
