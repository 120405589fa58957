/**
 * Consumer groups: list with state, members and total lag; one group's members, assignments,
 * committed offsets and lag per partition with its lag over time; offset reset (earliest,
 * latest, time, offset, shift) previewed before it is executed and refused while the group
 * has members, as `kafka-mysql groups reset-offsets`; delete.
 */
import { useState } from 'preact/hooks';
import { api, enc, get } from '../api';
import { Card, Chart, Confirm, ErrorBox, TaskStatus, useLoad, useTask, type Series } from '../util';

const PAGE = 50;

export function GroupsPage() {
  // Paged on the server: members and lag are computed for the page shown only.
  const [q, setQ] = useState('');
  const [offset, setOffset] = useState(0);
  const list = useLoad(() => get(`/console/api/groups?offset=${offset}&limit=${PAGE}&q=${enc(q)}`), [offset, q], 5000);
  const d = list.data;
  return (
    <div data-testid="groups">
      <h1>Consumer groups</h1>
      <ErrorBox error={list.error} />
      {d && (
        <Card
          title={`${d.total} groups`}
          actions={<input placeholder="filter by id" data-testid="group-filter" value={q} onInput={(e) => { setQ((e.target as HTMLInputElement).value); setOffset(0); }} />}
        >
          <table data-testid="group-list">
            <thead><tr><th>group</th><th>state</th><th>members</th><th>protocol</th><th>total lag</th></tr></thead>
            <tbody>
              {d.groups.map((g: any) => (
                <tr key={g.group_id}>
                  <td><a href={`#/groups/${enc(g.group_id)}`}>{g.group_id}</a></td>
                  <td>{g.state}</td>
                  <td>{g.members ?? '-'}</td>
                  <td>{g.protocol || g.protocol_type}</td>
                  <td>{g.total_lag ?? '-'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {d.total > PAGE && (
            <div class="pager">
              <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>previous</button>
              <span>{`${offset + 1}-${Math.min(offset + PAGE, d.total)} of ${d.total}`}</span>
              <button disabled={offset + PAGE >= d.total} onClick={() => setOffset(offset + PAGE)}>next</button>
            </div>
          )}
        </Card>
      )}
    </div>
  );
}

type Mode = 'earliest' | 'latest' | 'datetime' | 'offset' | 'shift';

function Reset({ group, onDone }: { group: string; onDone(): void }) {
  const [mode, setMode] = useState<Mode>('earliest');
  const [value, setValue] = useState('');
  const [topics, setTopics] = useState('');
  const [plan, setPlan] = useState<any>(null);
  const [error, setError] = useState<Error | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const executing = useTask();
  const request = (execute: boolean) => {
    const body: any = { mode, execute };
    if (mode === 'datetime' || mode === 'offset' || mode === 'shift') body.value = value;
    const named = topics.split(',').map((t) => t.trim()).filter(Boolean);
    if (named.length > 0) body.topics = named.map((t) => (t.includes(':') ? { topic: t.slice(0, t.lastIndexOf(':')), partitions: t.slice(t.lastIndexOf(':') + 1).split('+').map(Number) } : { topic: t }));
    return api('POST', `/console/api/groups/${enc(group)}/reset-offsets`, body);
  };
  const preview = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setPlan(null);
    executing.clear();
    setPreviewing(true);
    try {
      setPlan(await request(false));
    } catch (err) {
      setError(err as Error);
    } finally {
      setPreviewing(false);
    }
  };
  const execute = async () => {
    setError(null);
    // A group with many partitions: one OffsetCommit at the coordinator, shown pending until it answers.
    const done = await executing.run(`Committing ${plan.offsets.length} offsets`, () => request(true), (_, s) => `Committed ${plan.offsets.length} offsets in ${s} s.`);
    if (done !== undefined) {
      setPlan(done);
      onDone();
    }
  };
  return (
    <Card title="Reset offsets">
      <form class="row" onSubmit={preview} data-testid="reset">
        <select value={mode} name="mode" onChange={(e) => { setMode((e.target as HTMLSelectElement).value as Mode); setPlan(null); }}>
          <option value="earliest">to earliest</option>
          <option value="latest">to latest</option>
          <option value="datetime">to a time</option>
          <option value="offset">to an offset</option>
          <option value="shift">shift by</option>
        </select>
        {(mode === 'datetime' || mode === 'offset' || mode === 'shift') && (
          <input name="value" placeholder={mode === 'datetime' ? '2026-12-06T10:00:00Z' : 'number'} value={value} onInput={(e) => { setValue((e.target as HTMLInputElement).value); setPlan(null); }} />
        )}
        <input name="topics" placeholder="topics (empty: all committed), t or t:0+1" value={topics} onInput={(e) => { setTopics((e.target as HTMLInputElement).value); setPlan(null); }} />
        <button type="submit" data-testid="reset-preview" disabled={previewing || executing.busy}>{previewing ? 'Planning…' : 'Preview'}</button>
      </form>
      <ErrorBox error={error} />
      {plan && (
        <>
          <table data-testid="reset-plan">
            <thead><tr><th>topic</th><th>partition</th><th>current</th><th>new</th><th>log start</th><th>log end</th></tr></thead>
            <tbody>
              {plan.offsets.map((p: any) => (
                <tr key={`${p.topic}-${p.partition}`}>
                  <td>{p.topic}</td><td>{p.partition}</td><td>{p.current_offset ?? '-'}</td><td><b>{p.new_offset}</b></td><td>{p.log_start_offset}</td><td>{p.log_end_offset}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {plan.executed ? (
            <p data-testid="reset-done">Committed.</p>
          ) : (
            <button class="danger" onClick={execute} disabled={executing.busy} data-testid="reset-execute">Execute this reset</button>
          )}
          <TaskStatus task={executing.task} />
        </>
      )}
    </Card>
  );
}

export function GroupPage({ id }: { id: string }) {
  const group = useLoad(() => get(`/console/api/groups/${enc(id)}`), [id], 2000);
  const history = useLoad(() => get(`/console/api/groups/${enc(id)}/lag-history`), [id], 2000);
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const remove = async () => {
    setConfirm(false);
    try {
      await api('DELETE', `/console/api/groups/${enc(id)}`);
      location.hash = '#/groups';
    } catch (err) {
      setError(err as Error);
    }
  };
  const g = group.data;
  const samples: Array<{ t: number; total: number; partitions: Record<string, number> }> = history.data?.samples ?? [];
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s.partitions)))].slice(0, 5);
  const series: Series[] = [
    { name: 'total lag', points: samples.map((s) => [s.t, s.total]) },
    ...keys.map((k) => ({ name: k, points: samples.map((s) => [s.t, s.partitions[k] ?? 0] as [number, number]) })),
  ];
  return (
    <div data-testid="group">
      <h1>
        Group {id} {g && <span class={`state state-${g.state}`} data-testid="group-state">{g.state}</span>}
      </h1>
      <ErrorBox error={group.error ?? error} />
      {g && (
        <>
          <div class="stats">
            <div><b data-testid="total-lag">{g.total_lag}</b> total lag</div>
            <div><b>{g.members.length}</b> members</div>
            <div>{g.protocol || g.protocol_type || '-'}</div>
            <button class="danger" onClick={() => setConfirm(true)}>Delete group</button>
          </div>
          {confirm && <Confirm text={`Delete group ${id} and its committed offsets?`} onYes={remove} onNo={() => setConfirm(false)} />}
          <Card title="Lag over time">
            <Chart series={series} testid="lag-chart" />
          </Card>
          <Card title="Members">
            {g.members.length === 0 ? (
              <p class="muted">No members: offsets can be reset.</p>
            ) : (
              <table data-testid="members">
                <thead><tr><th>member</th><th>client id</th><th>host</th><th>assignments</th></tr></thead>
                <tbody>
                  {g.members.map((m: any) => (
                    <tr key={m.member_id}>
                      <td class="mono">{m.member_id}</td><td>{m.client_id}</td><td>{m.host}</td>
                      <td>{m.assignments.map((a: any) => `${a.topic}-${a.partition}`).join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card title="Committed offsets">
            <table data-testid="offsets">
              <thead><tr><th>topic</th><th>partition</th><th>committed</th><th>log start</th><th>log end</th><th>lag</th><th>member</th></tr></thead>
              <tbody>
                {g.offsets.map((o: any) => (
                  <tr key={`${o.topic}-${o.partition}`}>
                    <td>{o.topic}</td><td>{o.partition}</td><td>{o.current_offset}</td><td>{o.log_start_offset}</td><td>{o.log_end_offset}</td>
                    <td class={o.lag > 0 ? 'warn' : ''}>{o.lag}</td><td class="mono">{o.member_id ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
          <Reset group={id} onDone={group.reload} />
        </>
      )}
    </div>
  );
}
