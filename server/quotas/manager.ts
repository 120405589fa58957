/**
 * Client quotas as Kafka's ClientQuotaManager enforces them: produce bytes (request size),
 * fetch bytes (response size) and request time (percentage of one thread), each measured per
 * quota entity over quota.window.num windows of quota.window.size.seconds (rate.ts), with
 * Kafka's resolution order (DefaultQuotaCallback): user+client-id, user+default client,
 * user, default user+client-id, default user+default client, default user, client-id,
 * default client-id. The first entity holding a value for the key decides, and its shape
 * decides who shares a rate: a quota set on a user is shared by all of that user's client ids;
 * one set on the default user is measured per user.
 *
 * The quotas live in MySQL (storage/quotas.ts); each broker caches them and polls a one-row
 * generation counter every quota.refresh.ms, as the ACL cache does; the broker that takes a
 * change reloads at once. Quotas are per broker, as in Kafka.
 */
import type { Logger } from 'pino';
import { everyInterval } from '../background/repeating-job.js';
import type { QuotaChange, QuotaStore, StoredQuota } from '../../storage/quotas.js';
import { WindowedRate, type RateSettings } from './rate.js';

export const PRODUCER_BYTE_RATE = 'producer_byte_rate';
export const CONSUMER_BYTE_RATE = 'consumer_byte_rate';
export const REQUEST_PERCENTAGE = 'request_percentage';
export const QUOTA_KEYS: readonly string[] = [PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE, REQUEST_PERCENTAGE];

export interface QuotaSettings extends RateSettings {
  refreshMs: number;
}

/** Key of an entity in the cache: each component absent, default, or a name. */
function cacheKey(user: string | null | undefined, clientId: string | null | undefined): string {
  const part = (p: string | null | undefined) => (p === undefined ? '-' : p === null ? '*' : `=${p}`);
  return `${part(user)}\u0000${part(clientId)}`;
}

export class QuotaManager {
  private quotas = new Map<string, Record<string, number>>();
  private entries: StoredQuota[] = [];
  private readonly sensors = new Map<string, { rate: WindowedRate; lastMs: number }>();
  private generation = -1n;
  private stopPolling: () => void = () => undefined;

  constructor(
    private readonly store: QuotaStore | null,
    private readonly settings: QuotaSettings,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.stopPolling = everyInterval(this.settings.refreshMs, () => this.refresh(), (err) => this.logger.warn({ err }, 'quota refresh failed; keeping the cached quotas'));
  }

  stop(): void {
    this.stopPolling();
    this.stopPolling = () => undefined;
  }

  /** Re-reads the quotas when their generation moved (or `force`); forgets idle sensors. */
  async refresh(force = false): Promise<void> {
    if (!this.store) return;
    const generation = await this.store.generation();
    if (force || generation !== this.generation) {
      this.load(await this.store.list());
      this.generation = generation;
    }
    const idle = Date.now() - this.settings.samples * this.settings.windowMs;
    for (const [k, s] of this.sensors) if (s.lastMs < idle) this.sensors.delete(k);
  }

  /** Replaces the cached quotas (refresh, and unit tests without MySQL). */
  load(list: readonly StoredQuota[]): void {
    const next = new Map<string, Record<string, number>>();
    for (const q of list) next.set(cacheKey(q.entity.user, q.entity.clientId), { ...q.values });
    this.quotas = next;
    this.entries = list.map((q) => ({ entity: { ...q.entity }, values: { ...q.values } }));
  }

  /** Every entity with a quota, re-read first when MySQL's generation moved (DescribeClientQuotas). */
  async describe(): Promise<StoredQuota[]> {
    await this.refresh();
    return this.entries;
  }

  /** Stores the changes and reloads at once (AlterClientQuotas). */
  async alter(changes: readonly QuotaChange[]): Promise<void> {
    if (!this.store) throw new Error('quotas are not stored');
    await this.store.alter(changes);
    await this.refresh(true);
  }

  /**
   * The quota on `key` for a user and client id, and who shares its rate (Kafka's metric tags:
   * the user when the matched entity has a user component, the client id when it has one); null
   * when no entity sets the key.
   */
  resolve(key: string, user: string, clientId: string): { quota: number; tags: string } | null {
    const order: [string | null | undefined, string | null | undefined][] = [
      [user, clientId],
      [user, null],
      [user, undefined],
      [null, clientId],
      [null, null],
      [null, undefined],
      [undefined, clientId],
      [undefined, null],
    ];
    for (const [u, c] of order) {
      const value = this.quotas.get(cacheKey(u, c))?.[key];
      if (value === undefined) continue;
      const tags = `${key}\u0000${u === undefined ? '' : user}\u0000${c === undefined ? '' : clientId}`;
      return { quota: value, tags };
    }
    return null;
  }

  /**
   * Records `value` (bytes, or request time in percent-seconds) against the quota `key` of the
   * user and client id; the throttle time in ms (0 when within the quota or none is set).
   */
  record(key: string, user: string, clientId: string, value: number, nowMs: number): number {
    const resolved = this.resolve(key, user, clientId);
    if (!resolved) return 0;
    let sensor = this.sensors.get(resolved.tags);
    if (!sensor) {
      sensor = { rate: new WindowedRate(this.settings), lastMs: nowMs };
      this.sensors.set(resolved.tags, sensor);
    }
    sensor.lastMs = nowMs;
    sensor.rate.record(value, nowMs);
    return sensor.rate.throttleMs(resolved.quota, nowMs);
  }

  /**
   * Takes back `value` recorded against `key` (Kafka's unrecordQuotaSensor): a Fetch answered
   * empty because it was throttled did not send the bytes it was measured with.
   */
  unrecord(key: string, user: string, clientId: string, value: number, nowMs: number): void {
    const resolved = this.resolve(key, user, clientId);
    const sensor = resolved && this.sensors.get(resolved.tags);
    if (sensor) sensor.rate.record(-value, nowMs);
  }

  /**
   * The most `key` allows in one window (quota × quota.window.size.seconds; Kafka's
   * getMaxValueInQuotaWindow, which bounds a consumer's fetch.max.bytes); Infinity when no quota is set.
   */
  maxValueInWindow(key: string, user: string, clientId: string): number {
    const resolved = this.resolve(key, user, clientId);
    return resolved ? (resolved.quota * this.settings.windowMs) / 1000 : Infinity;
  }

  /** True when any quota is set: the broker skips measuring otherwise. */
  get active(): boolean {
    return this.quotas.size > 0;
  }
}
