import zookeeper from 'node-zookeeper-client';
import type { Client, Event, Stat } from 'node-zookeeper-client';

/**
 * Promises over node-zookeeper-client (a pure JavaScript ZooKeeper client: no native build,
 * MIT, two small dependencies; the `zookeeper` package needs a native build of the C client
 * at install time). One ZkSession is one ZooKeeper session: when it expires, the owner makes
 * a new one (ZooKeeperCluster).
 */

export const { CreateMode, Exception } = zookeeper;

export class ZkError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

/** `host:port,host:port[/chroot]` split into servers and chroot, each checked. */
export function parseZookeeperConnect(value: string): { servers: string; chroot: string | null } {
  const trimmed = value.trim();
  const slash = trimmed.indexOf('/');
  const servers = slash >= 0 ? trimmed.slice(0, slash) : trimmed;
  const chroot = slash >= 0 ? trimmed.slice(slash).replace(/\/+$/, '') || null : null;
  if (servers === '') throw new Error(`zookeeper.connect '${value}' names no server (expected host:port[,host:port][/chroot])`);
  for (const s of servers.split(',')) {
    const m = /^([^:\s]+):(\d{1,5})$/.exec(s);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new Error(`zookeeper.connect '${value}': '${s}' is not host:port (expected host:port[,host:port][/chroot])`);
    }
  }
  if (chroot !== null && !/^(\/[A-Za-z0-9._-]+)+$/.test(chroot)) {
    throw new Error(`zookeeper.connect '${value}': chroot '${chroot}' is not a path like /kafka`);
  }
  return { servers, chroot };
}

function wrap(err: unknown, what: string): ZkError {
  const code = typeof (err as { getCode?: () => number })?.getCode === 'function' ? (err as { getCode(): number }).getCode() : undefined;
  return new ZkError(`${what}: ${(err as Error)?.message ?? String(err)}`, code);
}

/**
 * node-zookeeper-client 1.1.3 never notices a dead connection that was not closed: it sends a
 * ping when idle but has no read timeout, and once TCP connects it clears its connect timeout
 * even if the server never answers the handshake. A half-open socket (ZooKeeper cut off or
 * hung) then holds the client "connected" or "connecting" forever, its session expires on the
 * server and the broker never learns it. The watchdog below closes such a socket after two
 * thirds of the session timeout (the Java client's read timeout), which makes the client
 * reconnect and resume its session, or learn that it expired.
 */
interface ClientInternals {
  connectionManager?: { socket?: { destroy(): void } };
}

export class ZkSession {
  private watchdog: NodeJS.Timeout | undefined;
  /** When the current probe was sent (null: none outstanding). */
  private probeSince: number | null = null;
  /** Since when the client is not connected (null: connected). */
  private downSince: number | null = null;
  /** Sockets closed by the watchdog (tests and logs). */
  kicks = 0;
  /** Called when the watchdog closes a dead socket (for the broker's log). */
  onKick: ((why: string) => void) | null = null;

  private constructor(
    readonly client: Client,
    private readonly sessionTimeoutMs: number,
  ) {
    client.on('disconnected', () => (this.downSince ??= Date.now()));
    client.on('connected', () => {
      this.downSince = null;
      this.probeSince = null;
    });
    // Checked six times per session timeout, so a dead socket is closed between 2/3 and 5/6
    // of it: the client reconnects before ZooKeeper expires the session.
    const every = Math.max(100, Math.floor(sessionTimeoutMs / 6));
    this.watchdog = setInterval(() => this.check(), every);
    this.watchdog.unref();
  }

  private check(): void {
    const now = Date.now();
    const limit = Math.floor((this.sessionTimeoutMs * 2) / 3);
    const connected = this.client.getState() === zookeeper.State.SYNC_CONNECTED;
    if (!connected) {
      // Connecting on a socket that accepted but never answers the handshake.
      this.downSince ??= now;
      if (now - this.downSince > limit) this.kick('no answer to the connection handshake', now);
      return;
    }
    if (this.probeSince === null) {
      this.probeSince = now;
      this.client.exists('/', () => (this.probeSince = null));
    } else if (now - this.probeSince > limit) {
      this.kick('no answer from ZooKeeper', now);
    }
  }

  private kick(why: string, now: number): void {
    this.kicks++;
    this.onKick?.(why);
    this.probeSince = null;
    this.downSince = now;
    // Closing the socket (not the client, which would end the session) makes the client
    // reconnect with the same session id and re-register its watches.
    (this.client as unknown as ClientInternals).connectionManager?.socket?.destroy();
  }

  /**
   * Connects, failing after `connectionTimeoutMs` with a message naming the servers. The chroot
   * (if any) is created first through a session without it.
   */
  static async connect(connect: string, sessionTimeoutMs: number, connectionTimeoutMs: number): Promise<ZkSession> {
    const { servers, chroot } = parseZookeeperConnect(connect);
    if (chroot !== null) {
      const root = await ZkSession.open(servers, sessionTimeoutMs, connectionTimeoutMs);
      try {
        await root.mkdirp(chroot);
      } finally {
        root.close();
      }
    }
    return await ZkSession.open(servers + (chroot ?? ''), sessionTimeoutMs, connectionTimeoutMs);
  }

  private static open(connect: string, sessionTimeoutMs: number, connectionTimeoutMs: number): Promise<ZkSession> {
    const client = zookeeper.createClient(connect, { sessionTimeout: sessionTimeoutMs, spinDelay: 200, retries: 0 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        client.close();
        reject(new Error(`cannot connect to ZooKeeper at ${connect} within ${connectionTimeoutMs} ms (zookeeper.connect, zookeeper.connection.timeout.ms)`));
      }, connectionTimeoutMs);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve(new ZkSession(client, sessionTimeoutMs));
      });
      client.connect();
    });
  }

  sessionId(): string {
    return this.client.getSessionId().toString('hex');
  }

  close(): void {
    clearInterval(this.watchdog);
    this.client.close();
  }

  mkdirp(path: string): Promise<void> {
    return new Promise((resolve, reject) => this.client.mkdirp(path, (err) => (err ? reject(wrap(err, `mkdirp ${path}`)) : resolve())));
  }

  /** Creates a node; resolves false when it already exists. */
  create(path: string, data: Buffer, mode: number): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.client.create(path, data, mode, (err) => {
        if (!err) resolve(true);
        else if (wrap(err, '').code === Exception.NODE_EXISTS) resolve(false);
        else reject(wrap(err, `create ${path}`));
      }),
    );
  }

  /** The node's data and stat, or null when it does not exist; `watcher` fires once on its next change. */
  getData(path: string, watcher?: (event: Event) => void): Promise<{ data: Buffer; stat: Stat } | null> {
    return new Promise((resolve, reject) => {
      const cb = (err: unknown, data: Buffer, stat: Stat) => {
        if (!err) resolve({ data: data ?? Buffer.alloc(0), stat });
        else if (wrap(err, '').code === Exception.NO_NODE) resolve(null);
        else reject(wrap(err, `getData ${path}`));
      };
      if (watcher) this.client.getData(path, watcher, cb);
      else this.client.getData(path, cb);
    });
  }

  /** Whether the node exists; `watcher` fires once when it is created, changed or deleted. */
  exists(path: string, watcher?: (event: Event) => void): Promise<Stat | null> {
    return new Promise((resolve, reject) => {
      const cb = (err: unknown, stat: Stat) => (err ? reject(wrap(err, `exists ${path}`)) : resolve(stat ?? null));
      if (watcher) this.client.exists(path, watcher, cb);
      else this.client.exists(path, cb);
    });
  }

  getChildren(path: string, watcher?: (event: Event) => void): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const cb = (err: unknown, children: string[]) => (err ? reject(wrap(err, `getChildren ${path}`)) : resolve(children));
      if (watcher) this.client.getChildren(path, watcher, cb);
      else this.client.getChildren(path, cb);
    });
  }

  /** Sets data; `version` -1 for any. Rejects with code BAD_VERSION when the version moved. */
  setData(path: string, data: Buffer, version = -1): Promise<Stat> {
    return new Promise((resolve, reject) => this.client.setData(path, data, version, (err, stat) => (err ? reject(wrap(err, `setData ${path}`)) : resolve(stat))));
  }

  /** Removes a node; resolves false when it did not exist. */
  remove(path: string, version = -1): Promise<boolean> {
    return new Promise((resolve, reject) =>
      this.client.remove(path, version, (err) => {
        if (!err) resolve(true);
        else if (wrap(err, '').code === Exception.NO_NODE) resolve(false);
        else reject(wrap(err, `remove ${path}`));
      }),
    );
  }

  /** Makes sure a persistent node exists. */
  async ensure(path: string): Promise<void> {
    if ((await this.exists(path)) === null) await this.mkdirp(path);
  }

  /** Bumps a counter node's data (a change notification every watcher of it sees). */
  async bump(path: string, payload: string): Promise<void> {
    try {
      await this.setData(path, Buffer.from(payload));
    } catch (err) {
      if ((err as ZkError).code !== Exception.NO_NODE) throw err;
      await this.mkdirp(path);
      await this.setData(path, Buffer.from(payload));
    }
  }
}
