/**
 * Sends fuzz frames to a broker over several connections and counts what happened to each:
 * answered (a response came back), closed (the broker closed the connection, as it must for a
 * frame it cannot decode), or unanswered (no response within the case timeout: the connection
 * is dropped and a new one opened; a request the broker legitimately holds, such as a Fetch
 * waiting for data or a Produce with acks=0, ends here too). Each fuzz frame is followed on the
 * same connection by an ApiVersions v0 probe, so "answered" means the broker answered the fuzz
 * frame and then the probe, in order.
 */
import { connect, type Socket } from 'node:net';
import { FuzzFrames, type FuzzCase, type ServedVersions } from './frames.js';

export interface FuzzOptions {
  host: string;
  port: number;
  seed: number;
  served: readonly ServedVersions[];
  /** Stop after this many frames, or when `deadline` (epoch ms) passes, whichever is first. */
  frames: number;
  deadline: number;
  connections: number;
  /** Per case: how long to wait for the probe's answer before dropping the connection. */
  caseTimeoutMs: number;
  /** Largest response accepted; a bigger size prefix counts as `oversizedResponses`. */
  maxResponseBytes: number;
  onCase?: (c: FuzzCase, outcome: Outcome) => void;
}

export type Outcome = 'answered' | 'closed' | 'unanswered' | 'oversized';

export interface FuzzStats {
  frames: number;
  answered: number;
  closed: number;
  unanswered: number;
  oversizedResponses: number;
  largestResponse: number;
  /** Connections refused or reset before a frame went out (the broker was not accepting). */
  connectFailures: number;
  byApi: Map<number, number>;
}

const PROBE_CORRELATION_ID = 0x7fff_fff0;
/** ApiVersions v0, empty body, client id "probe". */
const PROBE = (() => {
  const b = Buffer.alloc(4 + 2 + 2 + 4 + 2 + 5);
  b.writeInt32BE(b.length - 4, 0);
  b.writeInt16BE(18, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(PROBE_CORRELATION_ID, 8);
  b.writeInt16BE(5, 12);
  b.write('probe', 14, 'latin1');
  return b;
})();

/** One connection that reads response sizes and skips bodies, keeping no response bytes. */
class ProbeConnection {
  private header = Buffer.alloc(8);
  private headerFill = 0;
  private bodyLeft = 0;
  private waiter: ((o: Outcome) => void) | null = null;
  largest = 0;
  dead = false;

  private constructor(private readonly socket: Socket, private readonly maxResponseBytes: number) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.dead = true;
      this.settle('closed');
    });
  }

  static open(host: string, port: number, maxResponseBytes: number): Promise<ProbeConnection | null> {
    return new Promise((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => resolve(new ProbeConnection(socket, maxResponseBytes)));
      socket.once('error', () => resolve(null));
    });
  }

  private settle(outcome: Outcome): void {
    const w = this.waiter;
    this.waiter = null;
    w?.(outcome);
  }

  private onData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= take;
        at += take;
        continue;
      }
      const take = Math.min(8 - this.headerFill, chunk.length - at);
      chunk.copy(this.header, this.headerFill, at, at + take);
      this.headerFill += take;
      at += take;
      if (this.headerFill < 8) return;
      this.headerFill = 0;
      const size = this.header.readInt32BE(0);
      const correlationId = this.header.readInt32BE(4);
      this.largest = Math.max(this.largest, size);
      if (size > this.maxResponseBytes) {
        this.settle('oversized');
        this.destroy();
        return;
      }
      this.bodyLeft = size - 4;
      // Responses leave in request order: the probe's answer means the fuzz frame was answered.
      if (correlationId === PROBE_CORRELATION_ID) this.settle('answered');
    }
  }

  send(frame: Buffer, timeoutMs: number): Promise<Outcome> {
    if (this.dead) return Promise.resolve('closed');
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => this.settle('unanswered'), timeoutMs);
      this.waiter = (o) => {
        clearTimeout(timer);
        resolve(o);
      };
      this.socket.write(frame);
      this.socket.write(PROBE);
    });
  }

  destroy(): void {
    this.dead = true;
    this.socket.destroy();
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzStats> {
  const frames = new FuzzFrames(options.seed, options.served);
  const stats: FuzzStats = {
    frames: 0,
    answered: 0,
    closed: 0,
    unanswered: 0,
    oversizedResponses: 0,
    largestResponse: 0,
    connectFailures: 0,
    byApi: new Map(),
  };
  const more = () => stats.frames < options.frames && Date.now() < options.deadline;

  const worker = async () => {
    let conn: ProbeConnection | null = null;
    while (more()) {
      if (conn === null || conn.dead) {
        conn = await ProbeConnection.open(options.host, options.port, options.maxResponseBytes);
        if (conn === null) {
          stats.connectFailures++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
      }
      const c = frames.nextCase();
      stats.frames++;
      stats.byApi.set(c.apiKey, (stats.byApi.get(c.apiKey) ?? 0) + 1);
      const outcome = await conn.send(c.frame, options.caseTimeoutMs);
      stats.largestResponse = Math.max(stats.largestResponse, conn.largest);
      if (outcome === 'answered') stats.answered++;
      else if (outcome === 'closed') stats.closed++;
      else if (outcome === 'oversized') stats.oversizedResponses++;
      else {
        stats.unanswered++;
        conn.destroy();
      }
      options.onCase?.(c, outcome);
    }
    conn?.destroy();
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  return stats;
}
