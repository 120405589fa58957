import type { Logger } from 'pino';
import type { LeaderStore } from '../../storage/index.js';
import type { TopicCatalog } from '../../storage/types.js';
import { planLeaders, type PartitionRef } from './placement.js';
import type { ZkSession } from './zk.js';

/** How often the controller re-checks leadership even without a notification (a missed watch, a failed write). */
const RECHECK_MS = 5000;

export interface ControllerDeps {
  selfId: number;
  catalog: TopicCatalog;
  leaders: LeaderStore;
  /** Live brokers not shutting down. */
  liveIds(): number[];
  session(): ZkSession | null;
  isController(): boolean;
  /** This broker's view of a partition's leader (undefined: none known), to find views left stale. */
  viewOf(topicId: string, partition: number): { leaderId: number; leaderEpoch: number } | undefined;
  logger: Logger;
}

/**
 * The controller's work, run only on the broker holding /controller: keeps every partition of
 * every topic led by a live broker (planLeaders), writes changes to MySQL (which bumps each
 * moved partition's leader epoch and fences its old leader) and then bumps /kafka-mysql/leaders
 * so every broker re-reads them. Runs are serialized; triggers during a run coalesce into one
 * more run. A broker joining rebalances to the preferred leaders.
 */
export class Controller {
  epoch = 0;
  private running: Promise<void> = Promise.resolve();
  private pending = false;
  private pendingRebalance = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly d: ControllerDeps) {}

  trigger(reason: string, rebalance: boolean): void {
    if (this.stopped || !this.d.isController()) return;
    this.pendingRebalance ||= rebalance;
    if (this.pending) return;
    this.pending = true;
    this.running = this.running.then(async () => {
      this.pending = false;
      const rb = this.pendingRebalance;
      this.pendingRebalance = false;
      try {
        await this.reconcile(reason, rb);
      } catch (err) {
        this.d.logger.warn({ err: (err as Error).message, reason }, 'controller: leadership update failed; retrying');
        setTimeout(() => this.trigger('retry', rb), 500).unref();
      }
    });
    this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.trigger('periodic check', false), RECHECK_MS);
    this.timer.unref();
  }

  /** Resolves when no run is in progress. */
  async idle(): Promise<void> {
    await this.running;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async reconcile(reason: string, rebalance: boolean): Promise<void> {
    if (!this.d.isController()) return;
    const live = this.d.liveIds();
    if (live.length === 0) return;
    await this.d.catalog.refresh();
    const topics = this.d.catalog.listTopics();
    const current = new Map((await this.d.leaders.readAll()).map((r) => [`${r.topicId}:${r.partition}`, r]));
    const partitions: PartitionRef[] = [];
    const known = new Set<string>();
    for (const t of topics) {
      known.add(t.topicId);
      for (let p = 0; p < t.partitionCount; p++) partitions.push({ topicId: t.topicId, partition: p });
    }
    const gone = [...new Set([...current.values()].map((r) => r.topicId))].filter((id) => !known.has(id));
    const plan = planLeaders(partitions, (p) => current.get(`${p.topicId}:${p.partition}`)?.leaderId, live, rebalance);
    // Leaders in MySQL that this broker's view lacks: written by a controller whose notification
    // was lost (its session expired before the bump reached ZooKeeper). Brokers only re-read
    // leaders on a bump, so without one they would keep the old view, and answer
    // LEADER_NOT_AVAILABLE for such partitions, until some later change.
    const unannounced = [...current.values()].filter((r) => {
      const v = this.d.viewOf(r.topicId, r.partition);
      return v === undefined || v.leaderId !== r.leaderId || v.leaderEpoch !== r.leaderEpoch;
    }).length;
    if (plan.length === 0 && gone.length === 0 && unannounced === 0) return;
    // Still the controller? A paused ex-controller must not write after a new one took over.
    const s = this.d.session();
    if (!s || !this.d.isController()) return;
    const started = Date.now();
    if (plan.length > 0) {
      const byId = new Map(topics.map((t) => [t.topicId, t]));
      const written = await this.d.leaders.assign(plan.map((c) => ({ topic: byId.get(c.topicId)!, partition: c.partition, leaderId: c.leaderId })));
      await s.bump('/kafka-mysql/leaders', JSON.stringify({ controllerEpoch: this.epoch, at: Date.now() }));
      this.d.logger.info(
        { reason, moved: written.length, live, ms: Date.now() - started, controllerEpoch: this.epoch },
        'controller: partition leaders assigned',
      );
    } else if (unannounced > 0) {
      await s.bump('/kafka-mysql/leaders', JSON.stringify({ controllerEpoch: this.epoch, at: Date.now() }));
      this.d.logger.info({ reason, unannounced, controllerEpoch: this.epoch }, 'controller: leaders written earlier announced again');
    }
    if (gone.length > 0) await this.d.leaders.forgetTopics(gone);
  }
}
