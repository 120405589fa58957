/**
 * The console's consumer groups with several brokers (docs/console.md, "Several brokers"): two
 * brokers with ZooKeeper, one group coordinated by each. Both brokers' consoles list both groups
 * with state, members and lag, page the list, describe the other broker's group with its
 * committed offsets, reset the other broker's group's offsets (checked with kafkajs's
 * OffsetFetch) and delete it (gone for kafkajs's ListGroups); a reset of a group with members
 * is refused whichever console asks; a user with DESCRIBE on the group sees the other broker's group
 * but its reset and delete are refused before anything is forwarded. ACLs and REST
 * authentication are on. Through the console's JSON API (what the page calls), and
 * the groups page of one console in Debian's chromium (playwright-core, headless).
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } from 'kafkajs';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zookeeperInstalled } from '../server/cluster/zookeeper-process.js';
import { startTestCluster, type TestCluster } from './support/cluster.js';
import { coordinatorOf, createTopic, kafka } from './support/cluster-clients.js';

const TOPIC = 'cc-t';
const OTHER = 'cc-other';
const PARTITIONS = 4;
let cluster: TestCluster | undefined;
const httpPorts = new Map<number, number>();

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const PASSWORDS: Record<string, string> = { admin: 'admin-pw', viewer: 'viewer-pw' };

/** The console's JSON API as `user` (HTTP Basic, a PLAIN user of the SASL listener). */
async function api(broker: number, method: string, path: string, body?: unknown, user = 'admin'): Promise<{ status: number; body: any }> {
  const authorization = `Basic ${Buffer.from(`${user}:${PASSWORDS[user]}`).toString('base64')}`;
  const r = await fetch(`http://127.0.0.1:${httpPorts.get(broker)}${path}`, { method, headers: { authorization, 'content-type': 'application/json', 'x-kafka-mysql-console': '1' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  if (!zookeeperInstalled()) return;
  for (const id of [1, 2]) httpPorts.set(id, await freePort());
  // ACLs on, REST authentication with the SASL listener's PLAIN users; the PLAINTEXT listener
  // (inter-broker, and the test's kafkajs clients) runs as User:ANONYMOUS, a super user here.
  cluster = await startTestCluster(
    'console_cluster',
    2,
    {
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_viewer="viewer-pw";',
      'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
      'super.users': 'User:admin;User:ANONYMOUS',
      'acl.refresh.ms': 200,
      'rest.authentication.method': 'BASIC',
    },
    (id) => ({ 'metrics.listener': `127.0.0.1:${httpPorts.get(id)}` }),
  );
});

afterAll(async () => {
  await cluster?.stop();
});

describe.skipIf(!zookeeperInstalled())('console groups across two brokers', () => {
  it('lists, describes, resets and deletes groups whichever broker coordinates them', { timeout: 60_000 }, async () => {
    const c = cluster!;
    await createTopic(c, TOPIC, PARTITIONS);
    await createTopic(c, OTHER, 1);
    const client = kafka(c, 'console-cluster');
    const producer = client.producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % PARTITIONS, value: `v${i}` })) });
    await producer.disconnect();

    // One group coordinated by each broker.
    const byCoordinator = new Map<number, string>();
    for (let i = 0; byCoordinator.size < 2 && i < 200; i++) {
      const g = `cc-group-${i}`;
      const node = await coordinatorOf(c, 1, g);
      if (!byCoordinator.has(node)) byCoordinator.set(node, g);
    }
    const g1 = byCoordinator.get(1)!;
    const g2 = byCoordinator.get(2)!;
    expect(g1 && g2).toBeTruthy();

    const admin = client.admin();
    await admin.connect();
    // g1: offset 2 on each partition (lag 8 each, 32); g2: offset 5 (lag 5 each, 20), then a member.
    await admin.setOffsets({ groupId: g1, topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, offset: '2' })) });
    await admin.setOffsets({ groupId: g2, topic: TOPIC, partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, offset: '5' })) });
    const consumer = client.consumer({ groupId: g2 });
    await consumer.connect();
    await consumer.subscribe({ topic: OTHER });
    await consumer.run({ eachMessage: async () => undefined });
    try {
      for (const broker of [1, 2]) {
        let list: any;
        // The member's join completes in the background: wait for Stable.
        for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 300))) {
          list = await api(broker, 'GET', '/console/api/groups');
          if (list.body?.groups?.find((g: any) => g.group_id === g2)?.state === 'Stable') break;
        }
        expect(list.status).toBe(200);
        const row = (g: string) => list.body.groups.find((x: any) => x.group_id === g);
        expect(list.body.total).toBe(2);
        expect(row(g1)).toMatchObject({ state: 'Empty', members: 0, total_lag: 32 });
        expect(row(g2)).toMatchObject({ state: 'Stable', members: 1, total_lag: 20 });
        // Paged: the second page of one.
        const page = await api(broker, 'GET', '/console/api/groups?offset=1&limit=1');
        expect(page.body).toMatchObject({ total: 2, offset: 1, limit: 1 });
        expect(page.body.groups.map((g: any) => g.group_id)).toEqual([[g1, g2].sort()[1]]);
      }

      // The page of broker 1's console lists both groups (one coordinated by broker 2), with their lag.
      const CHROMIUM = '/usr/bin/chromium';
      if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${httpPorts.get(1)}/console/#/groups`);
        await page.waitForSelector('[data-testid=login]');
        await page.fill('input[name=user]', 'admin');
        await page.fill('input[name=password]', 'admin-pw');
        await page.click('form[data-testid=login] button[type=submit]');
        await expect.poll(() => page.locator('[data-testid=group-list] tbody tr').allTextContents(), { timeout: 10_000 }).toEqual(
          [[g1, 'Empty', '0', '32'], [g2, 'Stable', '1', '20']].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)).map(([g, state, members, lag]) => expect.stringMatching(new RegExp(`^${g}${state}${members}.*${lag}$`))),
        );
      } finally {
        await browser.close();
      }

      // Broker 2's console describes broker 1's group: offsets and lag per partition.
      const d = await api(2, 'GET', `/console/api/groups/${g1}`);
      expect(d.status).toBe(200);
      expect(d.body.offsets.map((o: any) => [o.partition, o.current_offset, o.log_end_offset, o.lag])).toEqual([0, 1, 2, 3].map((p) => [p, 2, 10, 8]));
      // And broker 1's console broker 2's group, with its member and the member's topic.
      const d2 = await api(1, 'GET', `/console/api/groups/${g2}`);
      expect(d2.body.members).toHaveLength(1);
      expect(d2.body.members[0].assignments).toEqual([{ topic: OTHER, partition: 0 }]);

      // A user with DESCRIBE on the groups and READ on the topic: sees them, but the other
      // broker's console forwards neither a reset (READ on the group needed) nor a delete
      // (DELETE needed); the forwarded request would run as the inter-broker super user.
      await admin.createAcls({
        acl: [
          { resourceType: AclResourceTypes.GROUP, resourceName: 'cc-group-', resourcePatternType: ResourcePatternTypes.PREFIXED, principal: 'User:viewer', host: '*', operation: AclOperationTypes.DESCRIBE, permissionType: AclPermissionTypes.ALLOW },
          { resourceType: AclResourceTypes.TOPIC, resourceName: TOPIC, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:viewer', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
        ],
      });
      let seen: any;
      for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
        seen = await api(2, 'GET', '/console/api/groups', undefined, 'viewer');
        if (seen.body?.total === 2) break;
      }
      expect(seen.body.groups.find((g: any) => g.group_id === g1)).toMatchObject({ total_lag: 32 });
      const denied = await api(2, 'POST', `/console/api/groups/${g1}/reset-offsets`, { mode: 'earliest', execute: true }, 'viewer');
      expect(denied.status).toBe(403);
      expect((await api(2, 'DELETE', `/console/api/groups/${g1}`, undefined, 'viewer')).status).toBe(403);
      const untouched = await admin.fetchOffsets({ groupId: g1, topics: [TOPIC] });
      expect(untouched[0]!.partitions.map((p) => p.offset)).toEqual(['2', '2', '2', '2']);

      // A reset of the group with a member is refused by the console of the other broker too.
      const refused = await api(1, 'POST', `/console/api/groups/${g2}/reset-offsets`, { mode: 'earliest', execute: true });
      expect(refused.status).toBe(409);

      // Broker 2's console resets broker 1's group to earliest: committed at the coordinator.
      const reset = await api(2, 'POST', `/console/api/groups/${g1}/reset-offsets`, { mode: 'earliest', execute: true });
      expect(reset.status).toBe(200);
      expect(reset.body.offsets.map((o: any) => [o.current_offset, o.new_offset])).toEqual([0, 1, 2, 3].map(() => [2, 0]));
      const fetched = await admin.fetchOffsets({ groupId: g1, topics: [TOPIC] });
      expect(fetched[0]!.partitions.map((p) => p.offset).sort()).toEqual(['0', '0', '0', '0']);

      // And deletes it.
      expect((await api(2, 'DELETE', `/console/api/groups/${g1}`)).status).toBe(204);
      expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain(g1);
      expect((await api(1, 'GET', '/console/api/groups')).body.groups.map((g: any) => g.group_id)).toEqual([g2]);
    } finally {
      await consumer.disconnect();
      await admin.disconnect();
    }
  });
});
