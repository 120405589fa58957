/**
 * Messages: browse a partition from an offset or a time, newest or oldest first, with bounded
 * text / header / key filters (the server scans a window and says where to go on); lookups by
 * key, message id or time through the message index on topics with message.index.enable;
 * keys and values as text, JSON or hex; headers; copy a record as JSON; produce a test message.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, enc, get, v3 } from '../api';
import { Card, ErrorBox, formatTime, renderBytes, useLoad, type ValueView } from '../util';

interface Shown {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  key_size: number;
  value_size: number;
  truncated: boolean;
  headers: Array<{ name: string; value: string | null }>;
}

function asJson(r: Shown): string {
  return JSON.stringify(
    {
      partition: r.partition,
      offset: r.offset,
      timestamp: new Date(r.timestamp).toISOString(),
      key: renderBytes(r.key, 'text'),
      value: renderBytes(r.value, 'text'),
      headers: Object.fromEntries(r.headers.map((h) => [h.name, renderBytes(h.value, 'text')])),
    },
    null,
    2,
  );
}

function Record({ r, view }: { r: Shown; view: ValueView }) {
  const [open, setOpen] = useState(false);
  const [copied, setCopied] = useState('');
  const copy = async () => {
    const text = asJson(r);
    try {
      await navigator.clipboard.writeText(text);
      setCopied('copied');
    } catch {
      setCopied(text);
    }
  };
  return (
    <>
      <tr data-testid="record" class="record" onClick={() => setOpen(!open)}>
        <td>{r.partition}</td>
        <td data-testid="record-offset">{r.offset}</td>
        <td>{formatTime(r.timestamp)}</td>
        <td class="mono" data-testid="record-key">{renderBytes(r.key, view === 'json' ? 'text' : view)}</td>
        <td class="mono value" data-testid="record-value">{renderBytes(r.value, view)}</td>
        <td>{r.headers.length > 0 ? r.headers.map((h) => `${h.name}=${renderBytes(h.value, 'text')}`).join(', ') : ''}</td>
      </tr>
      {open && (
        <tr class="detail">
          <td colSpan={6}>
            <pre data-testid="record-json">{asJson(r)}</pre>
            <div class="row">
              <button onClick={copy} data-testid="copy-json">Copy as JSON</button>
              {copied === 'copied' ? <span class="muted">copied</span> : copied && <textarea readOnly value={copied} rows={6} cols={60} />}
              <span class="muted">key {r.key_size} B, value {r.value_size} B{r.truncated ? ' (shown cut at 256 KiB)' : ''}</span>
            </div>
          </td>
        </tr>
      )}
    </>
  );
}

function Produce({ topic, onDone }: { topic: string; onDone(): void }) {
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const [json, setJson] = useState(false);
  const [result, setResult] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const send = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const hs = headers
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => {
          const i = l.indexOf('=');
          const name = i < 0 ? l.trim() : l.slice(0, i).trim();
          const v = i < 0 ? '' : l.slice(i + 1);
          return { name, value: btoa(unescape(encodeURIComponent(v))) };
        });
      const body = {
        key: key === '' ? null : { type: 'STRING', data: key },
        value: json ? { type: 'JSON', data: JSON.parse(value) } : { type: 'STRING', data: value },
        headers: hs,
      };
      const r = await api('POST', v3(`/topics/${enc(topic)}/records`), body);
      setResult(`written to partition ${r.partition_id} at offset ${r.offset}`);
      onDone();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <Card title="Produce a test message">
      <form class="produce" onSubmit={send} data-testid="produce">
        <input placeholder="key (text, empty: null)" name="key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <textarea placeholder="value" name="value" rows={3} value={value} onInput={(e) => setValue((e.target as HTMLTextAreaElement).value)} />
        <textarea placeholder="headers, one name=value a line" name="headers" rows={2} value={headers} onInput={(e) => setHeaders((e.target as HTMLTextAreaElement).value)} />
        <label class="inline">
          <input type="checkbox" checked={json} onChange={(e) => setJson((e.target as HTMLInputElement).checked)} /> value is JSON
        </label>
        <button type="submit">Produce</button>
        {result && <span class="muted" data-testid="produce-result">{result}</span>}
      </form>
      <ErrorBox error={error} />
    </Card>
  );
}

export function MessagesPage({ topic: initial }: { topic: string }) {
  const [topic, setTopic] = useState(initial);
  useEffect(() => setTopic(initial), [initial]);
  const info = useLoad(() => (topic ? get(`/console/api/topics/${enc(topic)}`) : Promise.resolve(null)), [topic]);
  const [partition, setPartition] = useState(0);
  const [order, setOrder] = useState<'newest' | 'oldest'>('newest');
  const [from, setFrom] = useState('');
  const [q, setQ] = useState('');
  const [header, setHeader] = useState('');
  const [key, setKey] = useState('');
  const [mode, setMode] = useState<'browse' | 'index'>('browse');
  const [messageId, setMessageId] = useState('');
  const [view, setView] = useState<ValueView>('text');
  const [query, setQuery] = useState<string | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [result, setResult] = useState<any>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const browseUrl = (at: number | null) => {
    const p = new URLSearchParams({ partition: String(partition), order, limit: '50' });
    if (at !== null) p.set('offset', String(at));
    else if (from.trim() !== '') p.set(/^\d+$/.test(from.trim()) ? 'offset' : 'time', from.trim());
    if (q) p.set('q', q);
    if (header) p.set('header', header);
    if (key) p.set('key', key);
    if (q || header || key) p.set('scan', '10000');
    return `/console/api/topics/${enc(topic)}/messages?${p}`;
  };
  const run = async (url: string) => {
    setBusy(true);
    setError(null);
    try {
      const r = await get(url);
      setResult(r);
      setCursor(r.next_offset ?? null);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const search = (e?: Event) => {
    e?.preventDefault();
    if (!topic) return;
    let url: string;
    if (mode === 'index') {
      const p = new URLSearchParams({ limit: '50' });
      if (key) p.set('key', key);
      else if (messageId) p.set('message_id', messageId);
      else if (from) p.set('from', from);
      url = `/console/api/topics/${enc(topic)}/find?${p}`;
    } else url = browseUrl(null);
    setQuery(url);
    void run(url);
  };
  useEffect(() => {
    if (topic && info.data) search();
  }, [topic, info.data?.name, partition, order]);

  const t = info.data;
  return (
    <div data-testid="messages">
      <h1>Messages</h1>
      <Card title="Find">
        <form class="search" onSubmit={search}>
          <label>
            Topic <input name="topic" data-testid="messages-topic" value={topic} onChange={(e) => setTopic((e.target as HTMLInputElement).value)} />
          </label>
          {t && (
            <label>
              Partition{' '}
              <select value={partition} onChange={(e) => setPartition(Number((e.target as HTMLSelectElement).value))} data-testid="partition">
                {t.partitions.map((p: any) => (
                  <option key={p.partition} value={p.partition}>
                    {p.partition} ({p.log_start_offset}-{p.log_end_offset})
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            Search{' '}
            <select value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as 'browse' | 'index')} data-testid="mode">
              <option value="browse">this partition</option>
              <option value="index" disabled={!t?.message_index}>message index (all partitions)</option>
            </select>
          </label>
          <label>
            Order{' '}
            <select value={order} onChange={(e) => setOrder((e.target as HTMLSelectElement).value as 'newest' | 'oldest')}>
              <option value="newest">newest first</option>
              <option value="oldest">oldest first</option>
            </select>
          </label>
          <label>
            From <input placeholder="offset or time (ISO 8601)" name="from" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Key <input name="key" data-testid="search-key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
          </label>
          {mode === 'index' ? (
            <label>
              Message id <input name="message_id" value={messageId} onInput={(e) => setMessageId((e.target as HTMLInputElement).value)} />
            </label>
          ) : (
            <>
              <label>
                Text <input name="q" placeholder="in key, value, headers" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
              </label>
              <label>
                Header <input name="header" placeholder="name or name=value" value={header} onInput={(e) => setHeader((e.target as HTMLInputElement).value)} />
              </label>
            </>
          )}
          <button type="submit" data-testid="search">Search</button>
          <span class="muted">view as</span>
          {(['text', 'json', 'hex'] as ValueView[]).map((v) => (
            <label class="inline" key={v}>
              <input type="radio" name="view" value={v} checked={view === v} onChange={() => setView(v)} /> {v}
            </label>
          ))}
        </form>
        <ErrorBox error={info.error ?? error} />
      </Card>
      {result && (
        <Card title={`${result.records.length} records${busy ? ' (loading...)' : ''}`}>
          {result.scanned !== undefined && (
            <p class="muted" data-testid="scan-info">
              {result.order} first; looked through offsets {result.scanned_from}-{result.scanned_to} ({result.scanned} records) of {result.log_start_offset}-{result.log_end_offset}
            </p>
          )}
          <table data-testid="records">
            <thead><tr><th>partition</th><th>offset</th><th>timestamp</th><th>key</th><th>value</th><th>headers</th></tr></thead>
            <tbody>
              {result.records.map((r: Shown) => <Record key={`${r.partition}-${r.offset}`} r={r} view={view} />)}
            </tbody>
          </table>
          {query && !query.includes('/find?') && cursor !== null && (
            <div class="pager">
              <button onClick={() => void run(browseUrl(cursor))} data-testid="more">
                {result.order === 'newest' ? 'older' : 'newer'} (from offset {cursor})
              </button>
            </div>
          )}
        </Card>
      )}
      {topic && t && <Produce topic={topic} onDone={() => search()} />}
    </div>
  );
}
