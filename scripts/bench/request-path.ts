/**
 * CPU per Produce request of the broker's request path alone, in this process (issue 19, small
 * requests): `npm run bench:request-path [-- --rounds 3000 --connections 64 --record-bytes 200]`.
 *
 * The path is the broker's own code from the connection on: Connection (with the in-place
 * FrameReader, as the listener sets it up), the SASL gate, the Dispatcher, the Produce handler
 * (checks, CRC, metrics, response encoding). What is not in it: sockets (a stand-in socket
 * counts the responses) and storage (a log whose appends are all settled at once per round,
 * as a group commit settles its transaction). Each round, every connection receives one
 * Produce request of one record, then the round's appends are settled and the responses
 * written. Prints the process's CPU time per request (user + system, from process.cpuUsage):
 * on a machine shared with other work this is far steadier than the whole broker's figure,
 * which moves with the load by 2x.
 */
import type { Socket } from 'node:net';
import pino from 'pino';
import { encodeRequestFrame } from '../../codec/client.js';
import { buildRecordBatch } from '../../codec/records/records.js';
import { loadConfig } from '../../server/config/index.js';
import { Dispatcher } from '../../server/dispatcher.js';
import type { BrokerContext } from '../../server/handler-types.js';
import { produceHandler } from '../../server/handlers/produce.js';
import { createBrokerMetrics, MetricsRegistry } from '../../server/metrics.js';
import { Connection } from '../../server/net/connection.js';
import { FrameReader } from '../../server/net/frame-reader.js';
import { authGate } from '../../server/security/auth-gate.js';
import type { AppendResult, TopicRecord } from '../../storage/types.js';
import { numberArg } from './cli-args.js';

const rounds = numberArg('rounds', '3000');
const connections = numberArg('connections', '64');
const recordBytes = numberArg('record-bytes', '200');
const PARTITIONS = 8;
const MAX_FRAME = 100 << 20;

const logger = pino({ level: 'silent' });
const metrics = createBrokerMetrics(new MetricsRegistry());
const topic: TopicRecord = { name: 'request-path', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitionCount: PARTITIONS, configs: {}, shardOfPartition: new Array(PARTITIONS).fill(0), isInternal: false };
let settle: (() => void)[] = [];
let offset = 0n;
const log = {
  append: () => new Promise<AppendResult>((resolve) => settle.push(() => resolve({ baseOffset: offset++, logAppendTimeMs: -1n, logStartOffset: 0n }))),
};
const broker = {
  config: loadConfig({ env: {} }),
  logger,
  metrics,
  catalog: { getTopic: () => topic },
  logs: { getLog: async () => log },
  cluster: { self: { nodeId: 0 }, leaderOf: () => 0, leaderEpochOf: () => 0 },
  transactions: null,
  delayed: null,
  messageIds: null,
  authorizer: null,
  quotas: null,
  now: () => Date.now(),
} as unknown as BrokerContext;
const dispatcher = new Dispatcher(new Map([[0, produceHandler]]), broker);
const handler = authGate(dispatcher.handle, { failedAuthenticationDelayMs: 0, maxReceiveBeforeAuth: MAX_FRAME, logger, authentications: metrics.requests });

let responses = 0;
const socket = () =>
  ({
    remoteAddress: '127.0.0.1',
    writableNeedDrain: false,
    setNoDelay() {},
    setTimeout() {},
    on() {},
    cork() {},
    uncork() {},
    pause() {},
    resume() {},
    destroy() {},
    end() {},
    write() {
      responses++;
      return true;
    },
  }) as unknown as Socket;
const clients = Array.from({ length: connections }, (_, i) => {
  const reader = new FrameReader(MAX_FRAME, null);
  return { reader, connection: new Connection(i, socket(), handler, logger, MAX_FRAME, () => {}, 600_000, reader, {}) };
});
const batch = buildRecordBatch({ records: [{ key: null, value: Buffer.alloc(recordBytes, 0x61) }] });
const frames = Array.from({ length: PARTITIONS }, (_, p) =>
  encodeRequestFrame(0, 9, 1, 'request-path', { transactionalId: null, acks: -1, timeoutMs: 30_000, topicData: [{ name: topic.name, partitionData: [{ index: p, records: batch }] }] }),
);
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

async function round(r: number): Promise<void> {
  for (let c = 0; c < clients.length; c++) {
    const { reader, connection } = clients[c]!;
    const frame = frames[(c + r) % PARTITIONS]!;
    frame.copy(reader.readTarget(), 0);
    connection.onReadInPlace(frame.length);
  }
  await nextTurn();
  const commit = settle;
  settle = [];
  for (const s of commit) s();
  await nextTurn();
}

for (let r = 0; r < 500; r++) await round(r);
const before = responses;
const cpu = process.cpuUsage();
const started = performance.now();
for (let r = 0; r < rounds; r++) await round(r);
const wallMs = performance.now() - started;
const used = process.cpuUsage(cpu);
const requests = rounds * connections;
if (responses - before !== requests) throw new Error(`${responses - before} responses for ${requests} requests`);
console.log(
  `${requests} Produce requests of one ${recordBytes}-byte record over ${connections} connections: ` +
    `${((used.user + used.system) / requests).toFixed(2)} µs CPU per request (${((1000 * wallMs) / requests).toFixed(2)} µs wall)`,
);
