/** Overview: brokers and the controller, MySQL shards (primary, replicas, lag, semi-sync), throughput and errors over the last hour. */
import { get } from '../api';
import { Card, Chart, ErrorBox, formatNumber, useLoad, type Series } from '../util';

interface Sample {
  t: number;
  producedBytes: number;
  producedBatches: number;
  fetchedBytes: number;
  requests: number;
  requestErrors: number;
  connections: number;
}

/** Per-second rates between consecutive samples of running totals (a counter reset shows as 0). */
function rates(samples: Sample[], field: keyof Sample): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const dt = (b.t - a.t) / 1000;
    if (dt <= 0) continue;
    out.push([b.t, Math.max(0, (b[field] - a[field]) / dt)]);
  }
  return out;
}

export function OverviewPage() {
  const overview = useLoad(() => get('/console/api/overview'), [], 10_000);
  const metrics = useLoad(() => get<{ samples: Sample[] }>('/console/api/metrics'), [], 10_000);
  const o = overview.data;
  const samples = metrics.data?.samples ?? [];
  const throughput: Series[] = [
    { name: 'produced bytes/s', points: rates(samples, 'producedBytes') },
    { name: 'fetched bytes/s', points: rates(samples, 'fetchedBytes') },
  ];
  const requests: Series[] = [
    { name: 'requests/s', points: rates(samples, 'requests') },
    { name: 'failed requests/s', points: rates(samples, 'requestErrors') },
  ];
  return (
    <div data-testid="overview">
      <h1>Overview</h1>
      <ErrorBox error={overview.error} />
      {o && (
        <div class="stats">
          <div><b data-testid="stat-topics">{o.topics}</b> topics</div>
          <div><b>{o.partitions}</b> partitions</div>
          <div><b>{o.groups}</b> consumer groups</div>
          <div><b>{o.brokers.length}</b> brokers</div>
          <div><b>{o.shard_count ?? '-'}</b> MySQL shards</div>
        </div>
      )}
      {o && (
        <Card title="Brokers">
          {o.brokers.length === 0 ? (
            <p class="muted">Describing the cluster is not allowed for this user.</p>
          ) : (
            <table data-testid="brokers">
              <thead><tr><th>id</th><th>host</th><th>port</th><th>rack</th><th>role</th></tr></thead>
              <tbody>
                {o.brokers.map((b: any) => (
                  <tr key={b.id}>
                    <td>{b.id}</td><td>{b.host}</td><td>{b.port}</td><td>{b.rack ?? ''}</td>
                    <td>{b.id === o.controller_id ? 'controller' : ''}{b.id === o.this_broker ? ' (this broker)' : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      )}
      {o && (
        <Card title="MySQL servers">
          {Array.isArray(o.shards_with_replicas) && o.shards_with_replicas.length > 0 ? (
            <table>
              <thead><tr><th>server</th><th>shards</th><th>primary</th><th>semi-sync</th><th>replica</th><th>IO/SQL</th><th>lag (s)</th></tr></thead>
              <tbody>
                {o.shards_with_replicas.flatMap((g: any) =>
                  (g.replicas.length > 0 ? g.replicas : [null]).map((r: any, i: number) => (
                    <tr key={`${g.name}-${i}`}>
                      <td>{i === 0 ? g.name : ''}</td>
                      <td>{i === 0 ? g.shards.join(', ') : ''}</td>
                      <td>{i === 0 ? `${g.primary.address}${g.primary.reachable ? '' : ' (unreachable)'}` : ''}</td>
                      <td>{i === 0 ? `${g.primary.semiSync ?? '-'}${g.primary.semiSyncClients !== null ? ` (${g.primary.semiSyncClients} clients)` : ''}` : ''}</td>
                      <td>{r ? `${r.address}${r.reachable ? '' : ' (unreachable)'}` : '-'}</td>
                      <td>{r ? `${r.ioRunning ?? '-'}/${r.sqlRunning ?? '-'}` : ''}</td>
                      <td class={r?.lagSeconds > 5 ? 'warn' : ''}>{r ? (r.lagSeconds ?? 'not replicating') : ''}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          ) : (
            <p class="muted">{o.shard_count === null ? 'Describing the cluster is not allowed for this user.' : `${o.shard_count} MySQL shard(s), none with replicas.`}</p>
          )}
        </Card>
      )}
      <div class="grid2">
        <Card title="Throughput (this broker, last hour)">
          <ErrorBox error={metrics.error} />
          <Chart series={throughput} unit="B/s" testid="chart-throughput" />
        </Card>
        <Card title="Requests and errors (this broker, last hour)">
          <Chart series={requests} unit="/s" testid="chart-requests" />
          {samples.length > 0 && <p class="muted">{formatNumber(samples[samples.length - 1]!.connections)} open connections</p>}
        </Card>
      </div>
    </div>
  );
}
