import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from 'pino';

/** How a server process ended: its exit code or signal when it was our child, nulls when it was adopted. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Reads /proc: is `pid` a live mariadbd/mysqld started with --datadir=<dataDir>? */
export async function isSameServer(pid: number, dataDir: string): Promise<boolean> {
  let cmdline: string;
  let stat: string;
  try {
    cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) is not a running server.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z' || state === 'X') return false;
  const args = cmdline.split('\0');
  const exe = path.basename(args[0] ?? '');
  if (exe !== 'mariadbd' && exe !== 'mysqld') return false;
  return args.includes(`--datadir=${dataDir}`);
}

/** The real uid a process runs as (from /proc), or undefined when it is gone. */
export async function processUid(pid: number): Promise<number | undefined> {
  try {
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^Uid:\s+(\d+)/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves when a server that is not our child (adopted) is gone, checking every `intervalMs`;
 * `cancel` stops the checks. The timer does not keep the process alive.
 */
export function watchForExit(pid: number, dataDir: string, intervalMs = 500): { exited: Promise<ServerExit>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const exited = new Promise<ServerExit>((resolve) => {
    const check = async () => {
      if (cancelled) return;
      if (!(await isSameServer(pid, dataDir))) resolve({ code: null, signal: null });
      else if (!cancelled) {
        timer = setTimeout(() => void check(), intervalMs);
        timer.unref();
      }
    };
    void check();
  });
  return {
    exited,
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

/** SIGTERM, wait (up to 2 minutes: InnoDB shutdown flushes), then SIGKILL. Only if it is still our server. */
export async function terminate(pid: number, dataDir: string, exited: Promise<unknown> | undefined, logger?: Logger): Promise<void> {
  if (!exited && !(await isSameServer(pid, dataDir))) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const gone = exited ? exited.then(() => true) : waitForExit(pid, dataDir, 120_000);
  // This timer stays referenced: the server child is unref'd, so without it Node could exit
  // (with stop() still pending) before the server's exit is observed.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 120_000);
  });
  const stopped = await Promise.race([gone, timeout]);
  clearTimeout(timer);
  if (!stopped) {
    logger?.warn({ pid }, 'managed MariaDB did not stop after SIGTERM; sending SIGKILL');
    if (exited || (await isSameServer(pid, dataDir))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (exited) await exited;
    else await waitForExit(pid, dataDir, 10_000);
  }
}

async function waitForExit(pid: number, dataDir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isSameServer(pid, dataDir))) return true;
    await sleep(50);
  }
  return false;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
