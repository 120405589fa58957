/**
 * Captures request frames from real Kafka clients, for codec/golden/*.json.
 *
 *   npx tsx codec/golden/capture.ts
 *
 * Starts a throwaway listener on 127.0.0.1 (random port) that answers just enough for the
 * clients to proceed (ApiVersions, Metadata with one broker and a topic "golden" with one
 * partition, Produce), points kafkajs (in process), kcat (librdkafka) and kafka-python at it,
 * and writes every distinct (api key, version) request frame each client sent as hex.
 * Every client run is bounded by a timeout; only processes started here are stopped.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeRequestFrame, encodeResponseFrame } from '../client.js';
import { createApiVersionsResponse } from '../generated/api-versions.js';
import { createMetadataResponse } from '../generated/metadata.js';
import { createProduceResponse, type ProduceRequest } from '../generated/produce.js';
import { API_DEFINITIONS, ApiKey } from '../generated/registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Version ranges advertised to the clients. */
const ADVERTISED: ReadonlyArray<readonly [number, number, number]> = [
  [ApiKey.Produce, 0, 9],
  [ApiKey.Fetch, 4, 12],
  [ApiKey.ListOffsets, 0, 7],
  [ApiKey.Metadata, 0, 9],
  [ApiKey.OffsetCommit, 0, 8],
  [ApiKey.OffsetFetch, 0, 8],
  [ApiKey.FindCoordinator, 0, 4],
  [ApiKey.JoinGroup, 0, 9],
  [ApiKey.Heartbeat, 0, 4],
  [ApiKey.LeaveGroup, 0, 5],
  [ApiKey.SyncGroup, 0, 5],
  [ApiKey.DescribeGroups, 0, 5],
  [ApiKey.ListGroups, 0, 4],
  [ApiKey.ApiVersions, 0, 3],
  [ApiKey.CreateTopics, 0, 7],
  [ApiKey.DeleteTopics, 0, 6],
  [ApiKey.InitProducerId, 0, 4],
  [ApiKey.DescribeConfigs, 0, 4],
];

export interface GoldenFrame {
  apiKey: number;
  apiVersion: number;
  api: string;
  hex: string;
}

export interface GoldenFile {
  client: string;
  version: string;
  note: string;
  frames: GoldenFrame[];
}

class CaptureBroker {
  private readonly server = createServer((s) => this.onConnection(s));
  private readonly sockets = new Set<Socket>();
  frames: GoldenFrame[] = [];
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Frames recorded since the last call, one per (api key, version). */
  take(): GoldenFrame[] {
    const seen = new Set<string>();
    const out = this.frames.filter((f) => {
      const k = `${f.apiKey}/${f.apiVersion}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    this.frames = [];
    return out;
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = Buffer.from(pending.subarray(0, 4 + pending.readInt32BE(0)));
        pending = pending.subarray(frame.length);
        const reply = this.handle(frame);
        if (reply) socket.write(reply);
      }
    });
  }

  private handle(frame: Buffer): Buffer | null {
    const apiKey = frame.readInt16BE(4);
    const apiVersion = frame.readInt16BE(6);
    const api = API_DEFINITIONS.get(apiKey)?.name ?? `unknown-${apiKey}`;
    this.frames.push({ apiKey, apiVersion, api, hex: frame.toString('hex') });
    const { header, body } = decodeRequestFrame(frame);
    const corr = header.correlationId;
    switch (apiKey) {
      case ApiKey.ApiVersions:
        return encodeResponseFrame(
          ApiKey.ApiVersions,
          apiVersion,
          corr,
          createApiVersionsResponse({
            apiKeys: ADVERTISED.map(([k, lo, hi]) => ({ apiKey: k, minVersion: lo, maxVersion: hi })),
          }),
        );
      case ApiKey.Metadata:
        return encodeResponseFrame(ApiKey.Metadata, apiVersion, corr, this.metadata());
      case ApiKey.Produce: {
        const req = body as ProduceRequest;
        if (req.acks === 0) return null;
        const resp = createProduceResponse({
          responses: req.topicData.map((t) => ({
            name: t.name,
            partitionResponses: t.partitionData.map((p) => ({
              index: p.index,
              errorCode: 0,
              baseOffset: 0n,
              logAppendTimeMs: -1n,
              logStartOffset: 0n,
              recordErrors: [],
              errorMessage: null,
              currentLeader: { leaderId: -1, leaderEpoch: -1 },
            })),
          })),
        });
        return encodeResponseFrame(ApiKey.Produce, apiVersion, corr, resp);
      }
      default:
        return null;
    }
  }

  private metadata() {
    return createMetadataResponse({
      brokers: [{ nodeId: 0, host: '127.0.0.1', port: this.port, rack: null }],
      clusterId: 'golden-capture',
      controllerId: 0,
      topics: [
        {
          errorCode: 0,
          name: 'golden',
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 0,
              leaderEpoch: 0,
              replicaNodes: [0],
              isrNodes: [0],
              offlineReplicas: [],
            },
          ],
          topicAuthorizedOperations: -2147483648,
        },
      ],
    });
  }
}

/** Runs a command with stdin text, stopping it (and only it) after `ms`. */
function run(cmd: string, args: string[], input: string, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end(input);
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function captureKafkajs(broker: CaptureBroker): Promise<GoldenFile> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId: 'golden-kafkajs', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await withTimeout(admin.connect(), 10_000);
  await withTimeout(admin.disconnect(), 5_000);
  const producer = kafka.producer();
  await withTimeout(producer.connect(), 10_000);
  await withTimeout(
    producer.send({ topic: 'golden', acks: -1, messages: [{ key: 'k', value: 'golden value', timestamp: '1700000000000' }] }),
    10_000,
  );
  await withTimeout(producer.disconnect(), 5_000);
  const pkg = JSON.parse(readFileSync(join(here, '../../node_modules/kafkajs/package.json'), 'utf8')) as { version: string };
  return {
    client: 'kafkajs',
    version: pkg.version,
    note: 'admin().connect(), then producer.send() of one record to topic golden',
    frames: broker.take(),
  };
}

async function captureKcat(broker: CaptureBroker): Promise<GoldenFile> {
  const bootstrap = `127.0.0.1:${broker.port}`;
  await run('kcat', ['-b', bootstrap, '-L', '-m', '5'], '', 10_000);
  await run('kcat', ['-b', bootstrap, '-P', '-t', 'golden', '-p', '0', '-K', ':'], 'k:golden value\n', 10_000);
  const v = await run('kcat', ['-V'], '', 5_000);
  const version = /Version (\S+).*?(librdkafka \S+)/s.exec(v);
  return {
    client: 'kcat',
    version: version ? `${version[1]} (${version[2]})` : 'unknown',
    note: 'kcat -L, then kcat -P of one keyed record to topic golden partition 0',
    frames: broker.take(),
  };
}

async function captureKafkaPython(broker: CaptureBroker): Promise<GoldenFile> {
  const script = [
    'from kafka import KafkaProducer',
    `p = KafkaProducer(bootstrap_servers='127.0.0.1:${broker.port}', client_id='golden-kafka-python')`,
    "p.send('golden', key=b'k', value=b'golden value', partition=0, timestamp_ms=1700000000000).get(timeout=5)",
    'p.close(timeout=2)',
  ].join('\n');
  await run(PYTHON, ['-c', script], '', 20_000);
  const v = await run(PYTHON, ['-c', 'import kafka; print(kafka.__version__)'], '', 5_000);
  return {
    client: 'kafka-python',
    version: v.trim(),
    note: 'KafkaProducer(...) start-up probe, then send() of one record to topic golden',
    frames: broker.take(),
  };
}

async function main(): Promise<void> {
  const broker = new CaptureBroker();
  await broker.start();
  try {
    const results: Array<[string, GoldenFile]> = [
      ['kafkajs.json', await captureKafkajs(broker)],
      ['kcat.json', await captureKcat(broker)],
      ['kafka-python.json', await captureKafkaPython(broker)],
    ];
    for (const [file, golden] of results) {
      writeFileSync(join(here, file), JSON.stringify(golden, null, 2) + '\n');
      const what = golden.frames.map((f) => `${f.api} v${f.apiVersion}`).join(', ');
      console.log(`${file}: ${golden.client} ${golden.version}: ${what}`);
    }
  } finally {
    await broker.stop();
  }
}

await main();
