/**
 * Delayed messages (docs/delayed.md): pending records and cancel, through the broker's REST
 * routes for them when it has them; otherwise "not available on this broker".
 */
import { useState } from 'preact/hooks';
import { api, ApiError, enc, get } from '../api';
import { Card, ErrorBox, formatTime, useLoad } from '../util';

export const DELAYED_PATH = '/v3/delayed';

export function DelayedPage() {
  const [topic, setTopic] = useState('');
  const list = useLoad(() => get(`${DELAYED_PATH}${topic ? `?topic=${enc(topic)}` : ''}`), [topic], 5000);
  const [error, setError] = useState<Error | null>(null);
  if (list.error instanceof ApiError && (list.error.status === 404 || list.error.status === 503)) {
    return (
      <div data-testid="delayed">
        <h1>Delayed messages</h1>
        <p class="unavailable" data-testid="unavailable">Delayed messages are not available on this broker.</p>
      </div>
    );
  }
  const cancel = async (id: string) => {
    setError(null);
    try {
      await api('DELETE', `${DELAYED_PATH}/${enc(id)}`);
      list.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <div data-testid="delayed">
      <h1>Delayed messages</h1>
      <ErrorBox error={list.error ?? error} />
      <Card title="Pending" actions={<input placeholder="topic" value={topic} onInput={(e) => setTopic((e.target as HTMLInputElement).value)} />}>
        <table data-testid="delayed-list">
          <thead><tr><th>id</th><th>topic</th><th>partition</th><th>due</th><th>key</th><th></th></tr></thead>
          <tbody>
            {(list.data?.data ?? []).map((d: any) => (
              <tr key={d.id}>
                <td class="mono">{d.id}</td><td>{d.topic}</td><td>{d.partition}</td><td>{typeof d.due === 'number' ? formatTime(d.due) : d.due}</td><td>{d.key ?? ''}</td>
                <td><button class="danger" onClick={() => cancel(String(d.id))}>Cancel</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </div>
  );
}
