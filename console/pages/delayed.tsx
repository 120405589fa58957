/**
 * Delayed messages (docs/delayed.md) through their REST routes: the records a topic with
 * delayed.delivery.enable holds, by due time (GET /v3/.../topics/{t}/delayed, READ on the
 * topic), and cancel (DELETE .../delayed/{message_id}, WRITE). A broker without the routes
 * answers 404 "No REST resource", shown as "not available on this broker".
 */
import { useState } from 'preact/hooks';
import { api, ApiError, enc, get, v3 } from '../api';
import { Card, ErrorBox, renderBytes, useLoad } from '../util';

export function DelayedPage() {
  const [topic, setTopic] = useState('');
  const [shown, setShown] = useState('');
  const list = useLoad(() => (shown ? get(v3(`/topics/${enc(shown)}/delayed?limit=200`)) : Promise.resolve(null)), [shown], 5000);
  const [error, setError] = useState<Error | null>(null);
  const [note, setNote] = useState('');
  if (list.error instanceof ApiError && list.error.status === 404 && /No REST resource|not served/.test(list.error.message)) {
    return (
      <div data-testid="delayed">
        <h1>Delayed messages</h1>
        <p class="unavailable" data-testid="unavailable">Delayed messages are not available on this broker.</p>
      </div>
    );
  }
  const cancel = async (id: string) => {
    setError(null);
    setNote('');
    try {
      const r = await api('DELETE', v3(`/topics/${enc(shown)}/delayed/${enc(id)}`));
      setNote(`${id}: ${r.status}`);
      list.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <div data-testid="delayed">
      <h1>Delayed messages</h1>
      <Card title="Held records">
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            setShown(topic.trim());
          }}
        >
          <input placeholder="topic (delayed.delivery.enable=true)" name="topic" value={topic} onInput={(e) => setTopic((e.target as HTMLInputElement).value)} />
          <button type="submit">Show</button>
        </form>
        <ErrorBox error={list.error ?? error} />
        {note && <p class="muted" data-testid="delayed-note">{note}</p>}
        {list.data && (
          <table data-testid="delayed-list">
            <thead><tr><th>message id</th><th>partition</th><th>deliver at</th><th>held since</th><th>key</th><th>value</th><th></th></tr></thead>
            <tbody>
              {list.data.data.map((d: any) => (
                <tr key={d.message_id} data-testid="delayed-row">
                  <td class="mono">{d.message_id}</td>
                  <td>{d.partition_id}</td>
                  <td>{d.deliver_at}</td>
                  <td>{d.held_at}</td>
                  <td class="mono">{renderBytes(d.key?.data ?? null, 'text')}</td>
                  <td class="mono value">{renderBytes(d.value?.data ?? null, 'text')}</td>
                  <td><button class="danger" onClick={() => cancel(d.message_id)} data-testid="cancel">Cancel</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {list.data && list.data.data.length === 0 && <p class="muted">No held records.</p>}
      </Card>
    </div>
  );
}
