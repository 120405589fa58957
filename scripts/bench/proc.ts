/**
 * Process figures from /proc (Linux): CPU time and resident memory of a pid, and a sampler
 * that keeps the peak RSS of a process while a phase runs.
 */
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export interface ProcSample {
  /** User + system CPU milliseconds since the process started. */
  cpuMs: number;
  rssBytes: number;
}

export function procSample(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS, rssBytes: rssPages * 4096 };
  } catch {
    return null;
  }
}

/**
 * Seconds the process's main thread (Node's JS thread) spent runnable but waiting for a CPU
 * (/proc/PID/schedstat, second field): on a loaded machine, how starved it was.
 */
function runQueueWaitSeconds(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
  } catch {
    return 0;
  }
}

/** CPU used by a set of processes between start() and stop(), and their peak RSS. */
export class ProcWatch {
  private start = new Map<number, number>();
  private peak = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private last = new Map<number, ProcSample>();
  private waitStart = new Map<number, number>();

  constructor(private readonly pids: Record<string, number>) {}

  begin(): this {
    for (const pid of Object.values(this.pids)) {
      const s = procSample(pid);
      this.start.set(pid, s?.cpuMs ?? 0);
      this.peak.set(pid, s?.rssBytes ?? 0);
      this.waitStart.set(pid, runQueueWaitSeconds(pid));
    }
    this.timer = setInterval(() => this.sample(), 200);
    this.timer.unref();
    return this;
  }

  private sample(): void {
    for (const pid of Object.values(this.pids)) {
      const s = procSample(pid);
      if (!s) continue;
      this.last.set(pid, s);
      if (s.rssBytes > (this.peak.get(pid) ?? 0)) this.peak.set(pid, s.rssBytes);
    }
  }

  /** Per name: CPU seconds used, seconds its main thread waited for a CPU, and peak RSS in bytes. */
  end(): Record<string, { cpuSeconds: number; runQueueWaitSeconds: number; peakRssBytes: number; rssBytes: number }> {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const out: Record<string, { cpuSeconds: number; runQueueWaitSeconds: number; peakRssBytes: number; rssBytes: number }> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const s = this.last.get(pid) ?? procSample(pid);
      out[name] = {
        cpuSeconds: s ? (s.cpuMs - (this.start.get(pid) ?? 0)) / 1000 : 0,
        runQueueWaitSeconds: runQueueWaitSeconds(pid) - (this.waitStart.get(pid) ?? 0),
        peakRssBytes: this.peak.get(pid) ?? 0,
        rssBytes: s?.rssBytes ?? 0,
      };
    }
    return out;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function latencySummary(values: number[]): { count: number; p50: number; p99: number; p999: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 50), p99: percentile(s, 99), p999: percentile(s, 99.9), max: s[s.length - 1] ?? NaN };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
