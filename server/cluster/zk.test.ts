/**
 * ZkSession against a real ZooKeeper, through a TCP proxy that can make its open connections
 * go silent without closing them (a dead route, a hung middlebox): the client library alone
 * never notices such a connection, so its session would expire unseen.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../compat-tests/support/wait.js';
import { CreateMode, ZkSession } from './zk.js';
import { startZookeeper, zookeeperInstalled, type ZookeeperProcess } from './zookeeper-process.js';

interface Proxy {
  port: number;
  /** Existing connections stop forwarding in both directions and stay open; new ones work. */
  silenceExisting(): void;
  close(): Promise<void>;
}

async function startProxy(target: number): Promise<Proxy> {
  const pairs: Array<{ client: Socket; upstream: Socket; silent: boolean }> = [];
  const server: Server = createServer((client) => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: target });
    const pair = { client, upstream, silent: false };
    pairs.push(pair);
    client.on('data', (d) => pair.silent || upstream.write(d));
    upstream.on('data', (d) => pair.silent || client.write(d));
    // A silenced pair passes on no close either: the other side must find out by itself.
    client.on('close', () => pair.silent || upstream.destroy());
    upstream.on('close', () => pair.silent || client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    silenceExisting() {
      for (const p of pairs) p.silent = true;
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!zookeeperInstalled())('ZkSession', () => {
  let zk: ZookeeperProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kmc-zk-'));
    zk = await startZookeeper({ dir });
  }, 60_000);

  afterAll(async () => {
    await zk?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaces a connection that went silent and keeps its session, ephemeral node and watches', async () => {
    const proxy = await startProxy(zk.port);
    const sessionMs = 6000;
    const s = await ZkSession.connect(`127.0.0.1:${proxy.port}`, sessionMs, 30_000);
    const other = await ZkSession.connect(zk.connect, sessionMs, 30_000);
    try {
      const id = s.sessionId();
      await s.ensure('/silent');
      expect(await s.create('/silent/eph', Buffer.from('x'), CreateMode.EPHEMERAL)).toBe(true);
      let fired = 0;
      await s.getData('/silent/eph', () => fired++);
      let reconnected = 0;
      s.client.on('connected', () => reconnected++);

      proxy.silenceExisting();
      await waitFor(() => reconnected > 0, 'the client connected again through a new connection', sessionMs * 3);

      expect(s.kicks).toBeGreaterThan(0);
      expect(s.sessionId()).toBe(id);
      // Still the same session's node: it was not expired.
      const node = await other.getData('/silent/eph');
      expect(node?.stat.ephemeralOwner.toString('hex')).toBe(id);
      // The watch set on the dead connection was registered again on the new one.
      await other.setData('/silent/eph', Buffer.from('y'));
      await waitFor(() => fired === 1, 'the data watch fired after the reconnection', 10_000);
    } finally {
      s.close();
      other.close();
      await proxy.close();
    }
  }, 60_000);
});
