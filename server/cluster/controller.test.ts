import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { LeaderRecord, LeaderStore } from '../../storage/index.js';
import type { TopicCatalog } from '../../storage/types.js';
import { Controller } from './controller.js';
import type { ZkSession } from './zk.js';

/**
 * Leaders written to MySQL by a controller whose notification was lost (its ZooKeeper session
 * expired between the write and the bump): the next controller finds nothing to move, and must
 * still bump /kafka-mysql/leaders when its own view lacks them, since brokers re-read leaders
 * only on a bump.
 */
function controllerWith(inMysql: LeaderRecord[], view: Map<string, LeaderRecord>) {
  const bumps: string[] = [];
  const assigned: unknown[] = [];
  const catalog = { refresh: async () => undefined, listTopics: () => [{ topicId: 't1', name: 'orders', partitionCount: 2 }] } as unknown as TopicCatalog;
  const leaders = {
    readAll: async () => inMysql,
    assign: async (changes: unknown[]) => {
      assigned.push(...changes);
      return [];
    },
    forgetTopics: async () => undefined,
  } as unknown as LeaderStore;
  const session = { bump: async (path: string) => void bumps.push(path) } as unknown as ZkSession;
  const ctl = new Controller({
    selfId: 1,
    catalog,
    leaders,
    liveIds: () => [1, 2],
    session: () => session,
    isController: () => true,
    viewOf: (topicId, partition) => view.get(`${topicId}:${partition}`),
    logger: pino({ level: 'silent' }),
  });
  return { ctl, bumps, assigned };
}

const rows: LeaderRecord[] = [
  { topicId: 't1', partition: 0, leaderId: 1, leaderEpoch: 4 },
  { topicId: 't1', partition: 1, leaderId: 2, leaderEpoch: 7 },
];

describe('controller', () => {
  it('announces leaders that are in MySQL but not in its view, without moving any', async () => {
    const { ctl, bumps, assigned } = controllerWith(rows, new Map([['t1:0', rows[0]!]]));
    ctl.trigger('elected controller', false);
    await ctl.idle();
    ctl.stop();
    expect(assigned).toEqual([]);
    expect(bumps).toEqual(['/kafka-mysql/leaders']);
  });

  it('announces a leader whose epoch moved since its view was read', async () => {
    const { ctl, bumps } = controllerWith(rows, new Map([['t1:0', rows[0]!], ['t1:1', { ...rows[1]!, leaderEpoch: 6 }]]));
    ctl.trigger('periodic check', false);
    await ctl.idle();
    ctl.stop();
    expect(bumps).toEqual(['/kafka-mysql/leaders']);
  });

  it('bumps nothing when its view matches MySQL', async () => {
    const { ctl, bumps, assigned } = controllerWith(rows, new Map(rows.map((r) => [`${r.topicId}:${r.partition}`, r])));
    ctl.trigger('periodic check', false);
    await ctl.idle();
    ctl.stop();
    expect(assigned).toEqual([]);
    expect(bumps).toEqual([]);
  });
});
