/**
 * Push subscriptions (docs/subscriptions.md) through their REST routes (/v3/subscriptions):
 * state, lag, pending and dead-lettered records, per-partition progress, delivery attempts;
 * pause, resume, retire; re-push the dead letters. A broker without them answers 404 or 503,
 * shown as "not available on this broker".
 */
import { useState } from 'preact/hooks';
import { api, ApiError, enc, get } from '../api';
import { Card, Confirm, ErrorBox, TaskStatus, useLoad, useTask } from '../util';

function unavailable(e: Error | null): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 503);
}

function Subscription({ name, onChange }: { name: string; onChange(): void }) {
  const sub = useLoad(() => get(`/v3/subscriptions/${enc(name)}`), [name], 3000);
  const [offset, setOffset] = useState('');
  const [range, setRange] = useState({ from: '', to: '' });
  const [tp, setTp] = useState('');
  // One record's attempts: its topic and partition (from the list below, the first by default) and offset.
  const attemptsQuery = () => {
    if (!/^\d+$/.test(offset)) return '';
    const first = sub.data?.partitions?.[0];
    const [topic, partition] = tp !== '' ? [tp.slice(0, tp.lastIndexOf(':')), tp.slice(tp.lastIndexOf(':') + 1)] : [first?.topic, first?.partition];
    return topic === undefined ? '' : `&topic=${enc(topic)}&partition=${partition}&offset=${offset}`;
  };
  const attempts = useLoad(() => get(`/v3/subscriptions/${enc(name)}/attempts?limit=50${attemptsQuery()}`), [name, offset, tp, sub.data?.partitions?.length], 5000);
  const [error, setError] = useState<Error | null>(null);
  const [confirm, setConfirm] = useState(false);
  const repushing = useTask();
  const act = async (action: string, body: unknown = {}) => {
    setError(null);
    if (action === 'repush') {
      // Marking a large range or many dead letters takes a while: shown pending, then the count.
      const r = await repushing.run('Marking records for delivery again', () => api('POST', `/v3/subscriptions/${enc(name)}/repush`, body), (v: any, secs) => `${v.records_marked} records marked for delivery again (${secs} s)`);
      if (r !== undefined) {
        sub.reload();
        onChange();
      }
      return;
    }
    try {
      await api('POST', `/v3/subscriptions/${enc(name)}/${action}`, body);
      sub.reload();
      onChange();
    } catch (err) {
      setError(err as Error);
    }
  };
  const s = sub.data;
  return (
    <Card title={`Subscription ${name}`}>
      <ErrorBox error={sub.error ?? error} />
      {s && (
        <>
          <div class="stats">
            <div><b data-testid="subscription-state">{s.state}</b> state</div>
            <div><b>{s.lag}</b> lag</div>
            <div><b>{s.records_pending}</b> pending</div>
            <div><b>{s.records_dead_lettered}</b> dead-lettered</div>
            <div class="row">
              {s.state === 'active' && <button onClick={() => act('pause')} data-testid="pause">Pause</button>}
              {s.state === 'paused' && <button onClick={() => act('resume')} data-testid="resume">Resume</button>}
              {s.state !== 'retired' && <button class="danger" onClick={() => setConfirm(true)}>Retire</button>}
              <button onClick={() => act('repush', { dead_lettered_since: 0 })} disabled={s.records_dead_lettered === 0 || repushing.busy}>Re-push dead letters</button>
            </div>
          </div>
          {confirm && <Confirm text={`Retire ${name}? It receives nothing more; this is final.`} onYes={() => { setConfirm(false); void act('retire'); }} onNo={() => setConfirm(false)} />}
          <TaskStatus task={repushing.task} />
          <p class="muted">{s.url ?? s.endpoint?.url ?? ''}</p>
          <table>
            <thead><tr><th>topic</th><th>partition</th><th>delivered up to</th><th>high watermark</th><th>lag</th><th>owner</th></tr></thead>
            <tbody>
              {(s.partitions ?? []).map((p: any) => (
                <tr key={`${p.topic}-${p.partition}`}>
                  <td>{p.topic}</td><td>{p.partition}</td><td>{p.committed_offset}</td><td>{p.high_watermark ?? '-'}</td><td>{p.lag}</td><td>{p.owner ?? '-'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              const body: Record<string, unknown> = {};
              if (range.from !== '') body.from_offset = Number(range.from);
              if (range.to !== '') body.to_offset = Number(range.to);
              // An offset range names its topic when the subscription has several (the server says so).
              if ((s.topics ?? []).length === 1) body.topic = s.topics[0];
              void act('repush', body);
            }}
          >
            <span class="muted">Re-push offsets</span>
            <input name="from_offset" placeholder="from" style={{ width: '7em' }} value={range.from} onInput={(e) => setRange({ ...range, from: (e.target as HTMLInputElement).value })} />
            <input name="to_offset" placeholder="to" style={{ width: '7em' }} value={range.to} onInput={(e) => setRange({ ...range, to: (e.target as HTMLInputElement).value })} />
            <button type="submit" disabled={repushing.busy}>Re-push</button>
          </form>
          <h3 class="row">
            Delivery attempts (latest 50)
            <select value={tp || (s.partitions?.[0] ? `${s.partitions[0].topic}:${s.partitions[0].partition}` : '')} onChange={(e) => setTp((e.target as HTMLSelectElement).value)}>
              {(s.partitions ?? []).map((p: any) => (
                <option key={`${p.topic}:${p.partition}`} value={`${p.topic}:${p.partition}`}>
                  {p.topic}-{p.partition}
                </option>
              ))}
            </select>
            <input name="attempt_offset" placeholder="of one offset" style={{ width: '9em' }} value={offset} onInput={(e) => setOffset((e.target as HTMLInputElement).value)} />
          </h3>
          <ErrorBox error={attempts.error} />
          <table>
            <thead><tr><th>time</th><th>topic-partition</th><th>offset</th><th>attempt</th><th>outcome</th><th>status</th><th>latency</th><th>error</th></tr></thead>
            <tbody>
              {(attempts.data?.data ?? []).map((a: any, i: number) => (
                <tr key={i}>
                  <td>{a.time}</td><td>{a.topic}-{a.partition}</td><td>{a.offset}</td><td>{a.attempt}</td><td>{a.outcome}</td><td>{a.status ?? ''}</td><td>{a.latency_ms ?? ''}</td><td>{a.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Card>
  );
}

export function SubscriptionsPage() {
  const list = useLoad(() => get('/v3/subscriptions'), [], 5000);
  const [selected, setSelected] = useState<string | null>(null);
  if (unavailable(list.error)) {
    return (
      <div data-testid="subscriptions">
        <h1>Push subscriptions</h1>
        <p class="unavailable" data-testid="unavailable">Push subscriptions are not available on this broker.</p>
      </div>
    );
  }
  return (
    <div data-testid="subscriptions">
      <h1>Push subscriptions</h1>
      <ErrorBox error={list.error} />
      {list.data && (
        <Card title={`${list.data.data.length} subscriptions`}>
          <table data-testid="subscription-list">
            <thead><tr><th>name</th><th>state</th><th>topics</th><th>endpoint</th><th>ordering</th></tr></thead>
            <tbody>
              {list.data.data.map((s: any) => (
                <tr key={s.name} class={selected === s.name ? 'selected' : ''}>
                  <td><button class="link" onClick={() => setSelected(s.name)}>{s.name}</button></td>
                  <td>{s.state}</td><td>{(s.topics ?? []).join(', ')}</td><td>{s.url}</td><td>{s.ordering}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      )}
      {selected && <Subscription name={selected} onChange={list.reload} />}
    </div>
  );
}
