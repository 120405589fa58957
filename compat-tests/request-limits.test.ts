/**
 * Request memory and connection limits (issue 18), with raw sockets against the built broker
 * in a child process. Broker A (queued.max.request.bytes 32 MiB, socket.request.max.bytes at
 * its 100 MiB default) gets the two findings: 20 connections each sending a 100 MB frame but
 * its last byte, then 1,000 connections each announcing 100 MB and sending nothing more,
 * while a kafkajs producer (acks=all) keeps producing. Its resident memory must stay under
 * idle + queued.max.request.bytes + 2 x socket.request.max.bytes + 128 MB (one privileged frame,
 * the buffers a frame outgrew until they are collected, and room for the heap of a busy broker), its address space must not grow
 * by the announced 100 GB, and the request bytes it counts go back to nothing once the
 * attackers close. Broker B (max.connections 4, one connection for 127.0.0.3,
 * connections.max.idle.ms 1500, queued.max.requests 1) shows a long-poll Fetch that holds no
 * request slot and ends as soon as its client leaves, connections over the limits closed at
 * once and a stalled half frame closed after the idle time.
 */
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResponseFrame, encodeRequestFrame } from '../codec/client.js';
import { createFetchRequest, createFetchRequestFetchPartition, createFetchRequestFetchTopic } from '../codec/generated/fetch.js';
import { createMetadataRequest, createMetadataRequestMetadataRequestTopic } from '../codec/generated/metadata.js';
import { spawnBroker, type BrokerProcess } from './support/broker.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';

const MiB = 1024 * 1024;
const BUDGET = 32 * MiB;
const MAX_FRAME = 100 * MiB; // socket.request.max.bytes default
const ATTACK_FRAME = 100_000_000;

/** VmRSS and VmSize of a process, in MB. */
function memoryOf(pid: number): { rss: number; size: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
  return { rss: kb('VmRSS'), size: kb('VmSize') };
}

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(kafka_mysql_[a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) values.set(m[1]!, Number(m[2]));
  }
  return values;
}

async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** An ApiVersions v0 request frame (size, key 18, version 0, correlation id, null client id). */
const API_VERSIONS = Buffer.from('0000000a00120000000000' + '07ffff', 'hex');

/** Sends ApiVersions and resolves with 'answered' when a response arrives, 'closed' when the broker closes first. */
function probe(socket: Socket, timeoutMs = 10_000): Promise<'answered' | 'closed'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('neither answered nor closed')), timeoutMs);
    const done = (outcome: 'answered' | 'closed') => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(outcome);
    };
    const onData = () => done('answered');
    const onClose = () => done('closed');
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => {});
    if (socket.destroyed) done('closed');
    else socket.write(API_VERSIONS);
  });
}

/** Sends one request frame and resolves with its response frame (size prefix removed). */
function request(socket: Socket, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        socket.off('data', onData);
        resolve(buffered.subarray(0, 4 + buffered.readInt32BE(0)));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed')));
    socket.write(frame);
  });
}

/** Writes `total` bytes of a frame announcing `size` with backpressure, until done or the socket closes. */
async function sendPartialFrame(socket: Socket, size: number, total: number): Promise<void> {
  const chunk = Buffer.alloc(MiB);
  chunk.writeInt32BE(size, 0);
  let sent = 0;
  socket.on('error', () => {});
  while (sent < total && !socket.destroyed) {
    const n = Math.min(chunk.length, total - sent);
    const more = socket.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    if (sent === 0) chunk.writeInt32BE(0, 0);
    sent += n;
    if (!more) await new Promise<void>((resolve) => {
      socket.once('drain', resolve);
      socket.once('close', resolve);
    });
  }
}

describe('request memory under hostile frames (broker A)', () => {
  let mysqlUrl: string;
  let broker: BrokerProcess;
  let metricsPort: number;
  let producer: Producer;
  let acknowledged = 0;
  const producerErrors: string[] = [];
  let producing = true;
  let producerLoop: Promise<void>;
  const attackers: Socket[] = [];
  let idle: { rss: number; size: number };

  beforeAll(async () => {
    mysqlUrl = await createTestDatabase('request_limits_a');
    broker = await spawnBroker({
      'mysql.url': mysqlUrl,
      'metrics.listener': '127.0.0.1:0',
      'queued.max.request.bytes': BUDGET,
      'max.connections': 2000,
      'group.initial.rebalance.delay.ms': 0,
    });
    metricsPort = Number(/"metricsPort":(\d+)/.exec(broker.output())![1]);
    const kafka = new Kafka({ clientId: 'well-behaved', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic: 'limits', acks: -1, messages: [{ value: 'warm-up' }] });
    idle = memoryOf(broker.child.pid!);
    producerLoop = (async () => {
      while (producing) {
        try {
          await producer.send({ topic: 'limits', acks: -1, messages: [{ value: `record ${acknowledged}` }] });
          acknowledged++;
        } catch (err) {
          producerErrors.push((err as Error).message);
        }
      }
    })();
  }, 120_000);

  afterAll(async () => {
    producing = false;
    await producerLoop;
    await producer?.disconnect();
    for (const s of attackers) s.destroy();
    await broker?.terminate();
    if (mysqlUrl) await dropTestDatabase(mysqlUrl);
  });

  it('20 connections sending 100 MB but one byte hold about the budget plus one frame, not 2 GB', async () => {
    const senders: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = await open(broker.port, '127.0.0.2');
      attackers.push(socket);
      senders.push(sendPartialFrame(socket, ATTACK_FRAME, 4 + ATTACK_FRAME - 1));
    }
    let maxRss = 0;
    const sample = setInterval(() => (maxRss = Math.max(maxRss, memoryOf(broker.child.pid!).rss)), 50);
    // Everyone but the privileged frame ends up waiting for memory; the privileged one has all its bytes but one.
    let metrics = new Map<string, number>();
    await until('the attack to settle', async () => {
      metrics = await scrape(metricsPort);
      return metrics.get('kafka_mysql_request_memory_waiting') === 19 && metrics.get('kafka_mysql_request_bytes')! >= ATTACK_FRAME;
    }, 120_000);
    const ackedDuringAttack = acknowledged;
    await until('the producer to go on', () => acknowledged >= ackedDuringAttack + 20);
    clearInterval(sample);
    const bound = idle.rss + BUDGET / MiB + (2 * MAX_FRAME) / MiB + 128;
    console.log(
      `20 x 100 MB frames: RSS idle ${idle.rss.toFixed(0)} MB, max ${maxRss.toFixed(0)} MB (bound ${bound.toFixed(0)}); ` +
        `counted ${(metrics.get('kafka_mysql_request_bytes')! / MiB).toFixed(0)} MiB, ${metrics.get('kafka_mysql_request_memory_waiting')} waiting`,
    );
    // The privileged frame (100 MB) and at most the budget besides.
    expect(metrics.get('kafka_mysql_request_bytes')).toBeLessThanOrEqual(BUDGET + MAX_FRAME);
    expect(maxRss).toBeLessThan(bound);
    expect(producerErrors).toEqual([]);
    void senders;
  }, 180_000);

  it('1,000 connections announcing 100 MB each reserve no address space for it', async () => {
    const before = memoryOf(broker.child.pid!);
    const announce = Buffer.alloc(14);
    announce.writeInt32BE(ATTACK_FRAME, 0);
    for (let i = 0; i < 1000; i++) {
      const socket = await open(broker.port, '127.0.0.4');
      socket.on('error', () => {});
      socket.write(announce);
      attackers.push(socket);
    }
    await until('all connections accepted', async () => (await scrape(metricsPort)).get('kafka_mysql_connections')! >= 1020);
    const ackedNow = acknowledged;
    await until('the producer to go on', () => acknowledged >= ackedNow + 20);
    const after = memoryOf(broker.child.pid!);
    console.log(
      `1,000 x 100 MB announced: VmSize ${before.size.toFixed(0)} -> ${after.size.toFixed(0)} MB, RSS ${before.rss.toFixed(0)} -> ${after.rss.toFixed(0)} MB`,
    );
    // Before the fix the process reserved the announced 100 GB; now at most the budget's worth of first buffers.
    expect(after.size - before.size).toBeLessThan(1024);
    expect(after.rss - before.rss).toBeLessThan(200);
    expect(producerErrors).toEqual([]);
  }, 180_000);

  it('gives every byte back when the attackers close', async () => {
    for (const s of attackers.splice(0)) s.destroy();
    await until('the request bytes to go back', async () => {
      const m = await scrape(metricsPort);
      // What is left is the well-behaved producer's request in progress, if any.
      return m.get('kafka_mysql_request_bytes')! < 64 * 1024 && m.get('kafka_mysql_request_memory_waiting') === 0;
    });
    const ackedNow = acknowledged;
    await until('the producer to go on', () => acknowledged >= ackedNow + 20);
    console.log(`after the attackers closed: RSS ${memoryOf(broker.child.pid!).rss.toFixed(0)} MB; producer ${acknowledged} acknowledged`);
    expect(producerErrors).toEqual([]);
    expect(broker.child.exitCode).toBeNull();
  }, 120_000);
});

describe('connection limits and stalled frames (broker B)', () => {
  let mysqlUrl: string;
  let broker: BrokerProcess;
  let metricsPort: number;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    mysqlUrl = await createTestDatabase('request_limits_b');
    broker = await spawnBroker({
      'mysql.url': mysqlUrl,
      'metrics.listener': '127.0.0.1:0',
      'max.connections': 4,
      'max.connections.per.ip.overrides': '127.0.0.3:1',
      'connections.max.idle.ms': 1500,
      'queued.max.requests': 1,
    });
    metricsPort = Number(/"metricsPort":(\d+)/.exec(broker.output())![1]);
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await broker?.terminate();
    if (mysqlUrl) await dropTestDatabase(mysqlUrl);
  });

  it('a long-poll Fetch holds no request slot and ends when its client leaves', async () => {
    const consumer = await open(broker.port);
    const metadata = encodeRequestFrame(3, 9, 1, 'test', createMetadataRequest({
      topics: [createMetadataRequestMetadataRequestTopic({ name: 'parked' })],
      allowAutoTopicCreation: true,
    }));
    await until('the topic to exist', async () => {
      const { body } = decodeResponseFrame(3, 9, await request(consumer, metadata));
      return body.topics[0]!.errorCode === 0;
    });
    const fetchCount = async () => (await scrape(metricsPort)).get('kafka_mysql_requests_total{api="Fetch",version="11"}') ?? 0;
    const longPoll = encodeRequestFrame(1, 11, 2, 'test', createFetchRequest({
      maxWaitMs: 60_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [createFetchRequestFetchTopic({ topic: 'parked', partitions: [createFetchRequestFetchPartition({ partitionMaxBytes: 1 << 20 })] })],
    }));
    consumer.on('error', () => {});
    consumer.write(longPoll);
    // queued.max.requests is 1, and the waiting Fetch does not hold it: another client is served.
    const other = await open(broker.port);
    expect(await probe(other)).toBe('answered');
    other.destroy();
    expect(await fetchCount()).toBe(0);
    // The client leaves: the Fetch stops waiting at once instead of after its 60 s.
    const left = Date.now();
    consumer.destroy();
    await until('the Fetch to end', async () => (await fetchCount()) === 1, 20_000);
    console.log(`long-poll Fetch ended ${Date.now() - left} ms after its client left (max wait 60 s)`);
  }, 60_000);

  it('closes a connection over max.connections at once and serves a new one after another closed', async () => {
    for (let i = 0; i < 4; i++) {
      const s = await open(broker.port);
      sockets.push(s);
      expect(await probe(s)).toBe('answered');
    }
    const fifth = await open(broker.port);
    expect(await probe(fifth)).toBe('closed');
    sockets.shift()!.destroy();
    // The broker sees that close a moment later; until then a new connection is still over the limit.
    await until('a place to free up', async () => (await probe(await open(broker.port))) === 'answered', 10_000);
    for (const s of sockets.splice(0)) s.destroy();
  }, 60_000);

  it('closes a second connection from an address whose max.connections.per.ip override is 1', async () => {
    // The four places of the test before are given back a moment after its sockets closed.
    let first: Socket | undefined;
    await until('a first connection from 127.0.0.3', async () => {
      first?.destroy();
      first = await open(broker.port, '127.0.0.3');
      return (await probe(first)) === 'answered';
    }, 10_000);
    sockets.push(first!);
    const second = await open(broker.port, '127.0.0.3');
    expect(await probe(second)).toBe('closed');
    // The first one is still served, and other addresses are not affected.
    expect(await probe(first!)).toBe('answered');
    const other = await open(broker.port, '127.0.0.5');
    sockets.push(other);
    expect(await probe(other)).toBe('answered');
  }, 60_000);

  it('closes a connection that sends half a frame and stalls after connections.max.idle.ms', async () => {
    const s = await open(broker.port, '127.0.0.6');
    sockets.push(s);
    const half = Buffer.alloc(4 + 500);
    half.writeInt32BE(1000, 0);
    const started = Date.now();
    const closed = new Promise<number>((resolve) => s.once('close', () => resolve(Date.now() - started)));
    s.write(half);
    const after = await closed;
    console.log(`half frame closed after ${after} ms (connections.max.idle.ms 1500)`);
    expect(after).toBeGreaterThanOrEqual(1400);
    expect(after).toBeLessThan(10_000);
  }, 30_000);
});
