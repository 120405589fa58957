/**
 * queued.max.request.bytes: one budget for the bytes of requests being read or queued on all
 * connections. Kafka's memory pool gives a request its whole announced size or mutes the
 * channel; here memory follows the bytes that arrive (see InPlaceReader's firstLargeBytes), so
 * a client that announces 100 MB and sends nothing holds only the first buffer.
 *
 * What is counted: the buffers of large frames being read (asked for before each allocation,
 * may be refused) and every frame from its dispatch until its handler has answered (counted
 * after the fact, never refused: the bytes are already in memory; frames that fit a 16 KiB
 * slab are never held back, so small requests keep flowing while large ones wait).
 *
 * The rules, chosen so memory stays bounded and reading cannot deadlock:
 * - an allocation is granted while it fits under the limit;
 * - otherwise one frame at a time may go over: it becomes privileged, and from then on gets
 *   every allocation until it is complete, if what it can still need fits under the limit plus
 *   one largest frame (socket.request.max.bytes). Without it, frames half read could hold the
 *   whole budget, each waiting for the others;
 * - the rest wait, first come first served, and are woken as bytes are given back.
 * So the total stays under limit + socket.request.max.bytes, plus the small frames in flight.
 * A privileged frame whose client stops sending holds its turn until connections.max.idle.ms
 * closes that connection.
 */
export interface BudgetClient {
  /** Called when memory was given back and this client, which was refused, may ask again. */
  memoryAvailable(): void;
}

export class RequestByteBudget {
  private usedBytes = 0;
  private privileged: BudgetClient | null = null;
  /** Clients refused, in the order they asked (a Set keeps insertion order). */
  private readonly waiters = new Set<BudgetClient>();
  private wakeScheduled = false;

  /**
   * @param limit bytes (queued.max.request.bytes); negative means no limit, as in Kafka.
   * @param largestFrame socket.request.max.bytes: how far one privileged frame may go over.
   */
  constructor(
    readonly limit: number,
    private readonly largestFrame: number,
  ) {}

  get used(): number {
    return this.usedBytes;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Asks for `bytes` for a frame being read, of which at most `frameRemaining` (these bytes
   * included) may still be needed. Refused: `client` is queued and told when to ask again.
   * `force`: counted whatever the answer.
   */
  reserve(client: BudgetClient, bytes: number, frameRemaining: number, force = false): boolean {
    if (this.grant(client, bytes, frameRemaining)) {
      this.waiters.delete(client);
      this.usedBytes += bytes;
      return true;
    }
    if (force) {
      this.usedBytes += bytes;
      return false;
    }
    this.waiters.add(client);
    return false;
  }

  private grant(client: BudgetClient, bytes: number, frameRemaining: number): boolean {
    if (this.limit < 0 || this.privileged === client || this.usedBytes + bytes <= this.limit) return true;
    // First come first served: only the longest waiting client may take the privilege.
    const first = this.waiters.values().next();
    const turn = first.done || first.value === client;
    if (this.privileged === null && turn && this.usedBytes + frameRemaining <= this.limit + this.largestFrame) {
      this.privileged = client;
      return true;
    }
    return false;
  }

  /** Counts bytes that are already in memory (a frame dispatched); never refused. */
  add(bytes: number): void {
    this.usedBytes += bytes;
  }

  /**
   * Gives back `bytes`. `frameDone`: the frame `client` read them for is complete or abandoned
   * (it loses the privilege). `client` is null for bytes counted with `add`.
   */
  release(client: BudgetClient | null, bytes: number, frameDone = false): void {
    this.usedBytes -= bytes;
    if (frameDone && client !== null && this.privileged === client) this.privileged = null;
    if (this.waiters.size > 0) this.scheduleWake();
  }

  /** Forgets a client whose connection closed (its bytes are released separately). */
  remove(client: BudgetClient): void {
    this.waiters.delete(client);
    if (this.privileged === client) this.privileged = null;
    if (this.waiters.size > 0) this.scheduleWake();
  }

  /** Wakes waiting clients in order, once per turn of the event loop, until one is refused again. */
  private scheduleWake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    process.nextTick(() => {
      this.wakeScheduled = false;
      this.wake();
    });
  }

  /** Exposed for tests that drive the budget by hand; the budget calls it itself after releases. */
  wake(): void {
    for (const client of [...this.waiters]) {
      if (!this.waiters.has(client)) continue;
      client.memoryAvailable();
      // Still waiting: refused again, and those behind it wait their turn.
      if (this.waiters.has(client)) return;
    }
  }
}
