/** Small shared pieces: data loading hooks, an error box, a line chart, value rendering. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | Error | null;
  loading: boolean;
  reload(): void;
}

/** Runs `load` on mount and when deps change; with `pollMs`, again every pollMs while mounted. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], pollMs = 0): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setLoading(true);
    load().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e: Error) => {
        if (mine !== seq.current) return;
        setError(e);
        setLoading(false);
      },
    );
  }, deps);
  useEffect(() => {
    run();
    if (pollMs <= 0) return;
    const t = setInterval(run, pollMs);
    return () => clearInterval(t);
  }, [run, pollMs]);
  return { data, error, loading, reload: run };
}

export function ErrorBox({ error }: { error: Error | null }) {
  if (!error) return null;
  const kafka = error instanceof ApiError && error.kafkaError ? ` (${error.kafkaError})` : '';
  return (
    <div class="error" role="alert" data-testid="error">
      {error.message}
      {kafka}
    </div>
  );
}

export function Card({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <header>
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];

/** A line chart of time series (x: epoch ms), drawn as SVG; no chart library needed for this. */
export function Chart({ series, unit = '', height = 160, testid }: { series: Series[]; unit?: string; height?: number; testid?: string }) {
  const width = 560;
  const pad = { l: 64, r: 8, t: 8, b: 22 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return <div class="chart-empty" data-testid={testid}>no samples yet</div>;
  const xs = all.map((p) => p[0]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const yMax = Math.max(1, ...all.map((p) => p[1]));
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const sy = (y: number) => pad.t + (1 - y / yMax) * (height - pad.t - pad.b);
  const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return (
    <div class="chart" data-testid={testid}>
      <svg viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img">
        <line x1={pad.l} y1={sy(0)} x2={width - pad.r} y2={sy(0)} class="axis" />
        <line x1={pad.l} y1={pad.t} x2={pad.l} y2={sy(0)} class="axis" />
        <text x={pad.l - 4} y={pad.t + 10} text-anchor="end" class="tick">{formatNumber(yMax)}{unit}</text>
        <text x={pad.l - 4} y={sy(0)} text-anchor="end" class="tick">0</text>
        <text x={pad.l} y={height - 4} class="tick">{time(x0)}</text>
        <text x={width - pad.r} y={height - 4} text-anchor="end" class="tick">{time(x1)}</text>
        {series.map((s, i) => (
          <polyline key={s.name} fill="none" stroke={COLORS[i % COLORS.length]} stroke-width="2" points={s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ')} />
        ))}
      </svg>
      <div class="legend">
        {series.map((s, i) => (
          <span key={s.name}>
            <i style={{ background: COLORS[i % COLORS.length] }} />
            {s.name}
          </span>
        ))}
      </div>
    </div>
  );
}

export function formatNumber(n: number): string {
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export function fromBase64(b64: string | null): Uint8Array | null {
  if (b64 === null) return null;
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export type ValueView = 'text' | 'json' | 'hex';

/** A key or value as text (UTF-8), JSON pretty-printed (falls back to text), or hex. */
export function renderBytes(b64: string | null, view: ValueView): string {
  const bytes = fromBase64(b64);
  if (bytes === null) return '(null)';
  if (view === 'hex') return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (view === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

export function Confirm({ text, onYes, onNo }: { text: string; onYes(): void; onNo(): void }) {
  return (
    <div class="confirm" role="dialog">
      <span>{text}</span>
      <button class="danger" data-testid="confirm-yes" onClick={onYes}>
        Yes
      </button>
      <button onClick={onNo}>Cancel</button>
    </div>
  );
}

/** A long operation the page waits for (one request): what it is, when it started, how it ended. */
export interface Task {
  label: string;
  started: number;
  result?: string;
  error?: Error;
}

/**
 * Runs one long operation at a time and shows its progress (TaskStatus): pending with the time
 * so far, then the result or the error. `busy` disables the button that started it.
 */
export function useTask() {
  const [task, setTask] = useState<Task | null>(null);
  const run = async <T,>(label: string, fn: () => Promise<T>, done: (value: T, seconds: string) => string): Promise<T | undefined> => {
    const started = Date.now();
    setTask({ label, started });
    try {
      const value = await fn();
      setTask({ label, started, result: done(value, ((Date.now() - started) / 1000).toFixed(1)) });
      return value;
    } catch (err) {
      setTask({ label, started, error: err as Error });
      return undefined;
    }
  };
  return { task, run, busy: task !== null && task.result === undefined && task.error === undefined, clear: () => setTask(null) };
}

export function TaskStatus({ task }: { task: Task | null }) {
  const [, tick] = useState(0);
  const pending = task !== null && task.result === undefined && task.error === undefined;
  useEffect(() => {
    if (!pending) return;
    const t = setInterval(() => tick((n) => n + 1), 250);
    return () => clearInterval(t);
  }, [pending, task]);
  if (!task) return null;
  if (task.error) return <ErrorBox error={task.error} />;
  if (pending) {
    return (
      <div class="task" role="status" data-testid="task-pending">
        <span class="spinner" /> {task.label}… {((Date.now() - task.started) / 1000).toFixed(0)} s
      </div>
    );
  }
  return <div class="task" role="status" data-testid="task-done">{task.result}</div>;
}
