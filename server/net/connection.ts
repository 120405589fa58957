import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ConnectionSecurity } from '../security/listener-security.js';
import { FrameReader } from './frame-reader.js';
import { FrameError, FrameSplitter } from './frame-splitter.js';
import type { BudgetClient, RequestByteBudget } from './limits/request-bytes.js';
import type { RequestSlots, SlotWaiter } from './limits/request-slots.js';

/**
 * What the connection asks of the dispatcher: a response (chunks, size prefix included) or none.
 * `frameOwned`: the frame lies in memory the connection allocated for it (read in place into a
 * buffer of its own, or assembled from several reads) and never writes again, so bytes of it
 * may be kept past the request without a copy (see mayRetain); false for views of a socket
 * chunk or a shared slab.
 */
export type FrameHandler = (frame: Buffer, connection: Connection, frameOwned: boolean) => Promise<Buffer[] | undefined>;

/** A request that must close the connection (protocol violation); the broker carries on. */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
}

const MAX_IN_FLIGHT = 64;
/** A partial frame from 'data' events up to this size is never held back by the budget (as a slab's). */
const SPLITTER_FREE_BYTES = 16 * 1024;

interface Slot {
  done: boolean;
  chunks: Buffer[] | undefined;
}

/** The broker-wide limits a connection reads under (see server/net/limits/); each may be absent. */
export interface ConnectionLimits {
  /** queued.max.request.bytes: every dispatched frame is counted until its handler answered. */
  budget?: RequestByteBudget | null;
  /** queued.max.requests: every dispatched request holds a slot until its handler answered. */
  slots?: RequestSlots | null;
}

/**
 * One client connection. Requests are handled concurrently but responses leave strictly in
 * request order (Kafka clients match them by order). When too many requests are in flight or
 * the socket's write buffer is full, the connection stops reading (backpressure); so it does
 * while the broker's request slots are all taken or a large frame waits for memory from the
 * request byte budget. When it closes, the frame being read is dropped at once and `signal`
 * is aborted, so work done only for this client's answer can stop.
 */
export class Connection implements SlotWaiter, BudgetClient {
  /** Frames from 'data' events, or from reads into buffers the reader chose (see FrameReader). */
  private readonly splitter: FrameSplitter | null;
  private readonly reader: FrameReader | null;
  private readonly queue: Slot[] = [];
  /** Too many requests in flight or the write buffer full (with hysteresis, see maybeResume). */
  private paused = false;
  /** True while frames are held because the broker's request slots are all taken. */
  private slotsFull = false;
  /** Frames read while the request slots were all taken (with whether they are owned), dispatched in order as slots free up. */
  private readonly held: { frame: Buffer; owned: boolean }[] = [];
  /** Whether the socket was told to stop reading, for any of the reasons above or the reader's. */
  private socketPaused = false;
  private closed = false;
  private readonly budget: RequestByteBudget | null;
  private readonly slots: RequestSlots | null;
  /** Bytes of a partial frame held by the splitter (data-event sockets), counted in the budget. */
  private splitterCounted = 0;
  /** The splitter holds a partial frame larger than SPLITTER_FREE_BYTES, and whether it waits for the budget. */
  private splitterLarge = false;
  private splitterWaiting = false;
  private readonly closedController = new AbortController();
  /** Broker shutdown: frames read from now on are dropped, the queue is answered, then the socket ends. */
  private draining = false;
  /** Client quotas: reading stops until this timer fires (Kafka mutes a throttled channel). */
  private muteTimer: NodeJS.Timeout | null = null;
  private mutedUntil = 0;
  private ended = false;
  private drained: (() => void) | null = null;
  /** Why the connection ended, for metrics: the client left, a protocol violation, idleness, or broker shutdown. */
  closeReason: 'client' | 'protocol' | 'idle' | 'shutdown' = 'client';
  /** The listener, principal and SASL session (server/security/); null for connections made without a listener (tests). */
  security: ConnectionSecurity | null = null;
  private address: string | undefined;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
    maxFrameBytes: number,
    private readonly onClose: (connection: Connection) => void,
    idleTimeoutMs = 0,
    reader: FrameReader | null = null,
    limits: ConnectionLimits = {},
  ) {
    this.reader = reader;
    this.splitter = reader ? null : new FrameSplitter(maxFrameBytes);
    this.budget = limits.budget ?? null;
    this.slots = limits.slots ?? null;
    if (reader) reader.onMemoryAvailable = () => this.updateReading();
    socket.setNoDelay(true);
    // connections.max.idle.ms: a connection that neither reads nor writes for this long is
    // closed, as Kafka's selector does; that includes one stalled in the middle of a frame
    // (nothing is queued until the frame is whole) or waiting for memory for one.
    if (idleTimeoutMs > 0) {
      socket.setTimeout(idleTimeoutMs, () => {
        if (this.queue.length === 0) this.abort('idle for connections.max.idle.ms', 'debug');
      });
    }
    if (this.splitter) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.handleClose());
  }

  /** The client's address, read once (every request's context carries it). */
  get remoteAddress(): string {
    return (this.address ??= this.socket.remoteAddress ?? 'unknown');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Aborted when the connection closes. */
  get signal(): AbortSignal {
    return this.closedController.signal;
  }

  /**
   * Runs a wait that does not need the broker (a long poll) without holding a request slot,
   * so consumers waiting for data never keep other requests from being read.
   */
  async parked<T>(wait: Promise<T>): Promise<T> {
    const slots = this.slots;
    if (!slots) return wait;
    slots.give();
    try {
      return await wait;
    } finally {
      slots.take();
    }
  }

  /**
   * A client over its quota: stops reading for `ms` (longer mutes extend, shorter ones do not
   * shorten), as Kafka mutes the channel after sending a throttled response.
   */
  mute(ms: number): void {
    if (this.closed || ms <= 0) return;
    const until = Date.now() + ms;
    if (this.muteTimer && until <= this.mutedUntil) return;
    if (this.muteTimer) clearTimeout(this.muteTimer);
    this.mutedUntil = until;
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.updateReading();
    }, ms);
    this.updateReading();
  }

  private onData(chunk: Buffer): void {
    this.receive(() => this.splitter!.push(chunk));
    if (this.budget && !this.closed) this.countSplitterBytes();
  }

  /**
   * Counts the splitter's partial frame (its chunks are already in memory, as they arrived) in
   * the budget. A large one is read on only while the budget allows, as FrameReader's frames
   * are (TLS connections and sockets without in-place reads): refused, reading stops until
   * memory comes back.
   */
  private countSplitterBytes(): void {
    const budget = this.budget!;
    const held = this.splitter!.bufferedBytes;
    if (held !== this.splitterCounted) {
      budget.add(held - this.splitterCounted);
      this.splitterCounted = held;
    }
    const large = held > SPLITTER_FREE_BYTES;
    // The large frame is complete: it gives up the turn to go over the limit, if it had it.
    if (this.splitterLarge && !large) budget.release(this, 0, true);
    this.splitterLarge = large;
    const waiting = large && !budget.reserve(this, 0, this.splitter!.pendingFrameBytes - held);
    if (waiting !== this.splitterWaiting) {
      this.splitterWaiting = waiting;
      this.updateReading();
    }
  }

  /** The request byte budget may have memory again (BudgetClient; 'data' event sockets). */
  memoryAvailable(): void {
    if (this.splitterWaiting && !this.closed) this.countSplitterBytes();
  }

  /** The socket read `n` bytes into the reader's last read target. */
  onReadInPlace(n: number): void {
    if (this.closed) return;
    this.receive(() => this.reader!.onRead(n));
  }

  /** Cuts frames from what was read; a bad size closes this connection only. */
  private receive(cut: () => Buffer[]): void {
    let frames: Buffer[];
    try {
      frames = cut();
    } catch (err) {
      this.abort(err instanceof FrameError ? err.message : String(err));
      return;
    }
    this.onFrames(frames);
  }

  private onFrames(frames: Buffer[]): void {
    for (const frame of frames) {
      if (this.closed || this.draining) return;
      const owned = this.reader ? this.reader.ownsFrame(frame) : this.splitter!.ownsFrame(frame);
      // Every frame is counted from now until its handler answered, even after the connection closed.
      this.budget?.add(frame.length);
      if (this.slots && (this.held.length > 0 || this.slots.full(this))) this.held.push({ frame, owned });
      else this.dispatch(frame, owned);
    }
    this.slotsFull = this.held.length > 0;
    this.maybePause();
  }

  /** The broker's request slots may be free again (SlotWaiter): held frames go out in order. */
  slotsAvailable(): void {
    while (this.held.length > 0 && !this.closed && !this.draining && !this.slots!.full(this)) {
      const { frame, owned } = this.held.shift()!;
      this.dispatch(frame, owned);
    }
    if (this.closed || this.draining) this.dropHeld();
    this.slotsFull = this.held.length > 0;
    this.updateReading();
  }

  /** Frames never dispatched (the connection closed or drains) give their bytes back. */
  private dropHeld(): void {
    for (const { frame } of this.held) this.budget?.release(null, frame.length);
    this.held.length = 0;
  }

  private dispatch(frame: Buffer, owned: boolean): void {
    const slot: Slot = { done: false, chunks: undefined };
    this.queue.push(slot);
    this.slots?.take();
    const bytes = frame.length;
    this.handler(frame, this, owned).then(
      (chunks) => {
        this.settled(bytes);
        slot.done = true;
        slot.chunks = chunks;
        this.flush();
      },
      (err: unknown) => {
        this.settled(bytes);
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof ProtocolViolation) this.abort(message);
        else {
          this.logger.error({ err }, 'request failed without a response');
          this.abort(`internal error: ${message}`);
        }
      },
    );
  }

  /** A request's handler answered: its bytes and its slot are given back. */
  private settled(bytes: number): void {
    this.budget?.release(null, bytes);
    this.slots?.give();
  }

  private flush(): void {
    if (this.closed) return;
    let wrote = false;
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const slot = this.queue.shift()!;
      if (!slot.chunks) continue;
      if (!wrote) this.socket.cork();
      wrote = true;
      for (const chunk of slot.chunks) this.socket.write(chunk);
    }
    if (wrote) process.nextTick(this.uncork);
    if (this.draining && this.queue.length === 0) this.endDrained();
    this.maybeResume();
  }

  /** Responses written in one tick leave in one write (one closure for the connection's life). */
  private readonly uncork = (): void => {
    this.socket.uncork();
  };

  private maybePause(): void {
    if (!this.paused && (this.queue.length >= MAX_IN_FLIGHT || this.socket.writableNeedDrain)) this.paused = true;
    this.updateReading();
  }

  private maybeResume(): void {
    if (this.paused && !this.closed && this.queue.length < MAX_IN_FLIGHT / 2 && !this.socket.writableNeedDrain) this.paused = false;
    this.updateReading();
  }

  /**
   * Reads while nothing holds the connection back: its queue, the request slots, the reader's
   * memory. A paused socket does not see its client leave; a draining one reads on (what it
   * reads is dropped) so the client's FIN is seen.
   */
  private updateReading(): void {
    if (this.closed) return;
    const stop = this.paused || (!this.draining && (this.muteTimer !== null || this.slotsFull || this.splitterWaiting || (this.reader?.waiting ?? false)));
    if (stop && !this.socketPaused) {
      this.socketPaused = true;
      this.socket.pause();
    } else if (!stop && this.socketPaused) {
      this.socketPaused = false;
      this.socket.resume();
    }
  }

  /** Closes this connection after a protocol violation; the broker keeps serving others. */
  abort(reason: string, level: 'warn' | 'debug' = 'warn'): void {
    if (this.closed) return;
    this.closeReason = level === 'debug' ? 'idle' : 'protocol';
    this.logger[level]({ connection: this.id, remote: this.remoteAddress, reason }, 'closing connection');
    this.socket.destroy();
    this.handleClose();
  }

  /**
   * Broker shutdown, graceful: requests already read are handled and answered in order, frames
   * read afterwards are dropped unhandled (the client retries them elsewhere or later: none was
   * committed), then the socket is ended; reading goes on so the client's FIN is seen. Resolves
   * with the number of requests that were in flight, once the connection has closed.
   */
  drain(): Promise<number> {
    if (this.closed || this.draining) return Promise.resolve(0);
    this.draining = true;
    this.closeReason = 'shutdown';
    const inFlight = this.queue.length;
    const closed = new Promise<void>((resolve) => (this.drained = resolve));
    if (inFlight === 0) this.endDrained();
    return closed.then(() => inFlight);
  }

  private endDrained(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    this.maybeResume();
  }

  close(): void {
    if (this.closed) return;
    this.closeReason = 'shutdown';
    this.socket.end();
    this.handleClose();
  }

  private handleClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    if (this.muteTimer) clearTimeout(this.muteTimer);
    this.muteTimer = null;
    // The partial frame's memory goes back now, not when the socket object is collected.
    this.reader?.release();
    this.slots?.remove(this);
    this.dropHeld();
    if (this.splitterCounted > 0) this.budget?.release(null, this.splitterCounted);
    this.splitterCounted = 0;
    this.budget?.remove(this);
    this.closedController.abort();
    this.onClose(this);
    this.drained?.();
  }
}
