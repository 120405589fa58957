/**
 * The ZooKeeper side of a clustered MySQL failover (shard-failover.ts) against a real
 * ZooKeeper, with the storage replaced by a record of what each broker was told to follow:
 * two brokers that both believe they are the controller claim at once and one wins; a paused
 * ex-controller's late publish is refused; brokers (and one starting later) follow the
 * published primary; with mysql.failover.quorum=2 the controller waits for a second broker's
 * report, which goes away with that broker's session; a broker sets a writable old primary
 * read-only only when the record agrees with its view. The end-to-end case with MariaDB servers is
 * compat-tests/cluster-shard-failover.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../compat-tests/support/wait.js';
import type { StorageReplication } from '../../storage/services.js';
import type { ServerGroup } from '../../storage/shards.js';
import { ShardFailover } from './shard-failover.js';
import { ZkSession } from './zk.js';
import { startZookeeper, zookeeperInstalled, type ZookeeperProcess } from './zookeeper-process.js';

const PRIMARY = 'mysql://u:p@127.0.0.1:3306/kafka';
const R1 = 'mysql://u:p@127.0.0.1:3307/kafka';
const R2 = 'mysql://u:p@127.0.0.1:3308/kafka';

/** One broker's shard map as far as the coordinator sees it: one group, what it followed. */
function fakeReplication(): StorageReplication & { group: ServerGroup; followed: Array<[string, number]> } {
  const group = { name: 'shard 0', primary: PRIMARY, replicas: [R1, R2], epoch: 0, fenced: [], shards: [0], pools: [] } as unknown as ServerGroup;
  const followed: Array<[string, number]> = [];
  return {
    group,
    followed,
    status: async () => [],
    topology: () => [{ name: group.name, shards: [0], epoch: group.epoch, switches: 0, primary: group.primary.replace(/^.*@|\/kafka$/g, ''), replicas: ['127.0.0.1:3307', '127.0.0.1:3308'], fenced: [] }],
    startFailover: () => undefined,
    applyPromotion(name, primary, epoch) {
      if (name !== group.name || epoch <= group.epoch) return false;
      followed.push([primary, epoch]);
      group.primary = `mysql://u:p@${primary}/kafka`;
      group.epoch = epoch;
      return true;
    },
    failoverStats: () => ({ failovers: 0, lastFailoverMs: 0 }),
    semiSyncStats: () => ({ confirmed: 0, unconfirmed: 0 }),
  };
}

describe.skipIf(!zookeeperInstalled())('shard failover through ZooKeeper', () => {
  let zk: ZookeeperProcess;
  let dir: string;
  const open: ShardFailover[] = [];
  let chroot = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmc-sfo-'));
    zk = await startZookeeper({ dir });
  }, 60_000);

  afterEach(() => {
    for (const f of open.splice(0)) f.close();
  });

  afterAll(async () => {
    await zk?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A broker's coordinator in its own chroot per test; `controller` says whether it believes it leads. */
  async function broker(id: number, connect: string, controller = true, quorum = 1) {
    const replication = fakeReplication();
    const f = new ShardFailover({
      connect,
      sessionTimeoutMs: 6000,
      connectionTimeoutMs: 20_000,
      selfId: id,
      isController: () => controller,
      replication,
      timeoutMs: 2000,
      quorum,
      fencingCommand: null,
      logger: pino({ level: 'silent' }),
    });
    open.push(f);
    await f.start();
    return { f, replication };
  }

  it('two brokers claiming at once: one wins the epoch, its publish is followed by the other', async () => {
    const connect = `${zk.connect}/t${++chroot}`;
    const a = await broker(1, connect);
    const b = await broker(2, connect);
    const claims = await Promise.all([a.f.claim(a.replication.group), b.f.claim(b.replication.group)]);
    expect(claims.filter((c) => c !== null)).toEqual([1]);
    const [winner, loser] = claims[0] === 1 ? [a, b] : [b, a];
    // The loser may not publish anything.
    expect(await loser.f.publish(loser.replication.group, 1, R2)).toBe(false);
    expect(await winner.f.publish(winner.replication.group, 1, R1)).toBe(true);
    expect(winner.replication.followed).toEqual([['127.0.0.1:3307', 1]]);
    await waitFor(() => loser.replication.followed.length === 1, 'the other broker following', 10_000);
    expect(loser.replication.followed).toEqual([['127.0.0.1:3307', 1]]);
    // Both now at epoch 1: a claim starts from there.
    expect(await loser.f.claim(loser.replication.group)).toBe(2);
  });

  it("a paused ex-controller's publish is refused once another broker claimed a later epoch", async () => {
    const connect = `${zk.connect}/t${++chroot}`;
    const a = await broker(1, connect);
    const b = await broker(2, connect);
    expect(await a.f.claim(a.replication.group)).toBe(1);
    // a pauses mid-promotion; b, now the controller, claims over its unfinished claim.
    expect(await b.f.claim(b.replication.group)).toBe(2);
    expect(await a.f.publish(a.replication.group, 1, R1)).toBe(false);
    expect(a.replication.followed).toEqual([]);
    expect(await b.f.publish(b.replication.group, 2, R2)).toBe(true);
    await waitFor(() => a.replication.followed.length === 1, 'the ex-controller following', 10_000);
    expect(a.replication.followed).toEqual([['127.0.0.1:3308', 2]]);
    expect(b.replication.followed).toEqual([['127.0.0.1:3308', 2]]);
  });

  it('a broker that is not the controller never claims; one starting after a promotion follows it', async () => {
    const connect = `${zk.connect}/t${++chroot}`;
    const a = await broker(1, connect);
    const b = await broker(2, connect, false);
    expect(await b.f.mayPromote(b.replication.group)).toBe(false);
    expect(await b.f.claim(b.replication.group)).toBe(null);
    expect(await a.f.claim(a.replication.group)).toBe(1);
    expect(await a.f.publish(a.replication.group, 1, R2)).toBe(true);
    const c = await broker(3, connect, false);
    expect(c.replication.followed).toEqual([['127.0.0.1:3308', 1]]);
  });

  it('a writable old primary may be set read-only only when the record agrees with the broker: not mid-promotion, not the published primary, not behind', async () => {
    const connect = `${zk.connect}/t${++chroot}`;
    const a = await broker(1, connect);
    const b = await broker(2, connect, false);
    expect(await b.f.mayFence(b.replication.group, R1)).toBe(true);
    expect(await a.f.claim(a.replication.group)).toBe(1);
    // Promoting: the writable server may be the candidate.
    expect(await b.f.mayFence(b.replication.group, PRIMARY)).toBe(false);
    expect(await a.f.publish(a.replication.group, 1, R1)).toBe(true);
    await waitFor(() => b.replication.followed.length === 1, 'the other broker following', 10_000);
    expect(await b.f.mayFence(b.replication.group, PRIMARY)).toBe(true);
    expect(await b.f.mayFence(b.replication.group, R1)).toBe(false);
    // A broker that has not followed epoch 1 yet fences nothing.
    b.replication.group.epoch = 0;
    expect(await b.f.mayFence(b.replication.group, PRIMARY)).toBe(false);
    expect(await b.f.mayFence(b.replication.group, R2)).toBe(false);
  });

  it('quorum 2: the controller promotes only once another live broker reports the primary unreachable', async () => {
    const connect = `${zk.connect}/t${++chroot}`;
    const a = await broker(1, connect, true, 2);
    const b = await broker(2, connect, false, 2);
    const reports = async () => {
      const s = await ZkSession.connect(connect, 6000, 20_000);
      try {
        return (await s.getChildren('/kafka-mysql/shard-reports/shard-0').catch(() => [])).sort();
      } finally {
        s.close();
      }
    };
    a.f.report(a.replication.group, true);
    await waitFor(async () => (await reports()).includes('1'), "the controller's report", 10_000);
    expect(await a.f.mayPromote(a.replication.group)).toBe(false);
    b.f.report(b.replication.group, true);
    await waitFor(() => a.f.mayPromote(a.replication.group), 'a quorum of two', 10_000);
    // The second broker sees the primary again: its report goes, and so does the quorum.
    b.f.report(b.replication.group, false);
    await waitFor(async () => !(await a.f.mayPromote(a.replication.group)), 'the quorum lost', 10_000);
    // Reporting again, then its session ends (the broker died): the report goes with it.
    b.f.report(b.replication.group, true);
    await waitFor(() => a.f.mayPromote(a.replication.group), 'a quorum of two again', 10_000);
    b.f.close();
    await waitFor(async () => (await reports()).join() === '1', "the dead broker's report gone", 10_000);
    expect(await a.f.mayPromote(a.replication.group)).toBe(false);
  });
});
