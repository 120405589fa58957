import type { Logger } from 'pino';
import type { ServerExit } from './process.js';

/** What the managed MariaDB is doing, for the health endpoint and logs. */
export type ManagedMariadbState = 'running' | 'restarting' | 'stopped';

export interface ManagedMariadbStatus {
  state: ManagedMariadbState;
  /** Pid of the running server (null while restarting or stopped). */
  pid: number | null;
  port: number;
  /** Restarts after the server died, since this broker started it. */
  restarts: number;
  /** When the current state began (ISO time). */
  since: string;
  /** The last unexpected exit: code and signal when the server was this process's child. */
  lastExit: (ServerExit & { pid: number; at: string }) | null;
  /** Why the last restart attempt failed, while restarting. */
  lastError: string | null;
}

/** A server process being watched. */
export interface RunningServer {
  pid: number;
  /** Resolves when the process has exited. */
  exited: Promise<ServerExit>;
  /** True when it is this process's child (its exit is reported by the OS, not polled). */
  child: boolean;
  /** Stops polling an adopted server. */
  cancel?(): void;
}

/**
 * Restarts the managed MariaDB when it dies. `restart` starts it again on the same port and
 * data directory (InnoDB recovers from its redo log on start), adopts a server another
 * watcher of the same data directory already restarted, or returns null when the server was
 * stopped on purpose (then nothing is restarted). A failed attempt is retried with backoff
 * (250 ms doubling to 5 s) until it succeeds or stop() is called.
 */
export class Supervisor {
  private current: RunningServer;
  private currentExited = false;
  private state: ManagedMariadbState = 'running';
  private since = new Date().toISOString();
  private restarts = 0;
  private lastExit: ManagedMariadbStatus['lastExit'] = null;
  private lastError: string | null = null;
  private stopping = false;
  private recovering: Promise<void> = Promise.resolve();

  constructor(
    first: RunningServer,
    private readonly port: number,
    private readonly restart: () => Promise<RunningServer | null>,
    private readonly logger?: Logger,
  ) {
    this.current = first;
    this.watch(first);
  }

  get pid(): number {
    return this.current.pid;
  }

  status(): ManagedMariadbStatus {
    return {
      state: this.state,
      pid: this.state === 'running' ? this.current.pid : null,
      port: this.port,
      restarts: this.restarts,
      since: this.since,
      lastExit: this.lastExit,
      lastError: this.lastError,
    };
  }

  /**
   * No more restarts. Resolves, once a restart in progress has finished, with the server to
   * terminate, or null when none is running.
   */
  async stop(): Promise<RunningServer | null> {
    this.stopping = true;
    await this.recovering;
    this.current.cancel?.();
    this.setState('stopped');
    return this.currentExited ? null : this.current;
  }

  private watch(server: RunningServer): void {
    this.current = server;
    this.currentExited = false;
    void server.exited.then((exit) => {
      if (this.current !== server) return;
      this.currentExited = true;
      if (!this.stopping) this.recovering = this.recover(server.pid, exit);
    });
  }

  private async recover(pid: number, exit: ServerExit): Promise<void> {
    this.lastExit = { pid, ...exit, at: new Date().toISOString() };
    this.setState('restarting');
    this.logger?.error({ pid, code: exit.code, signal: exit.signal }, 'managed MariaDB exited; restarting it');
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        const next = await this.restart();
        if (next === null) {
          this.logger?.info('managed MariaDB was stopped on purpose; not restarting it');
          this.setState('stopped');
          return;
        }
        this.restarts++;
        this.lastError = null;
        this.watch(next);
        this.setState('running');
        this.logger?.warn({ pid: next.pid, restarts: this.restarts }, 'managed MariaDB restarted');
        return;
      } catch (err) {
        this.lastError = err instanceof Error ? err.message.split('\n')[0]! : String(err);
        this.logger?.error({ err, attempt }, 'managed MariaDB restart failed; retrying');
        await new Promise<void>((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5000)).unref());
      }
    }
  }

  private setState(state: ManagedMariadbState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = new Date().toISOString();
  }
}
