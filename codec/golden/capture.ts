/**
 * Captures request frames from real Kafka clients, for codec/golden/*.json.
 *
 *   npx tsx codec/golden/capture.ts
 *
 * Starts a throwaway listener on 127.0.0.1 (random port) that answers just enough for the
 * clients to proceed (see responder.ts), points kafkajs (in process), kcat (librdkafka) and
 * kafka-python at it, producing to and consuming topic "golden", and writes the first frame
 * of every (api key, version) each client sent, as hex.
 * Every client run is bounded by a timeout; only processes started here are stopped.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeRequestFrame, encodeResponseFrame } from '../client.js';
import type { FetchRequest } from '../generated/fetch.js';
import { API_DEFINITIONS, ApiKey } from '../generated/registry.js';
import { respond } from './responder.js';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';

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
        this.handle(frame, socket);
      }
    });
  }

  private handle(frame: Buffer, socket: Socket): void {
    const apiKey = frame.readInt16BE(4);
    const apiVersion = frame.readInt16BE(6);
    const api = API_DEFINITIONS.get(apiKey)?.name ?? `unknown-${apiKey}`;
    this.frames.push({ apiKey, apiVersion, api, hex: frame.toString('hex') });
    const { header, body } = decodeRequestFrame(frame);
    const reply = respond(apiKey, body, this.port);
    if (reply === null) return;
    const out = encodeResponseFrame(apiKey, apiVersion, header.correlationId, reply);
    // An empty fetch waits a little, as a broker would, so consumers do not spin.
    const delay = apiKey === ApiKey.Fetch ? Math.min((body as FetchRequest).maxWaitMs, 200) : 0;
    if (delay > 0) setTimeout(() => socket.writable && socket.write(out), delay);
    else socket.write(out);
  }
}

/** Runs a command with stdin text, stopping it (and only it) after `ms`. */
function run(cmd: string, args: string[], input: string, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // SIGTERM first so a consumer can leave its group; SIGKILL if it does not exit.
    let hard: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      hard = setTimeout(() => child.kill('SIGKILL'), 3_000);
    }, ms);
    child.on('close', () => {
      clearTimeout(timer);
      clearTimeout(hard);
      resolve(out);
    });
    child.stdin.on('error', () => {}); // a child that exits without reading stdin
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
  const consumer = kafka.consumer({ groupId: 'golden-group', heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await withTimeout(consumer.connect(), 10_000);
  await withTimeout(consumer.subscribe({ topics: ['golden'], fromBeginning: true }), 10_000);
  await withTimeout(consumer.run({ autoCommitInterval: 500, eachMessage: async () => {} }), 10_000);
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await withTimeout(consumer.disconnect(), 5_000);
  const pkg = JSON.parse(readFileSync(join(here, '../../node_modules/kafkajs/package.json'), 'utf8')) as { version: string };
  return {
    client: 'kafkajs',
    version: pkg.version,
    note: 'admin().connect(); producer.send() of one record to topic golden; a group consumer of golden for 3 s',
    frames: broker.take(),
  };
}

async function captureKcat(broker: CaptureBroker): Promise<GoldenFile> {
  const bootstrap = `127.0.0.1:${broker.port}`;
  await run('kcat', ['-b', bootstrap, '-L', '-m', '5'], '', 10_000);
  await run('kcat', ['-b', bootstrap, '-P', '-t', 'golden', '-p', '0', '-K', ':'], 'k:golden value\n', 10_000);
  await run('kcat', ['-b', bootstrap, '-C', '-t', 'golden', '-o', 'beginning', '-e'], '', 10_000);
  await run('kcat', ['-b', bootstrap, '-G', 'golden-group', 'golden'], '', 6_000);
  const v = await run('kcat', ['-V'], '', 5_000);
  const version = /Version (\S+).*?(librdkafka \S+)/s.exec(v);
  return {
    client: 'kcat',
    version: version ? `${version[1]} (${version[2]})` : 'unknown',
    note: 'kcat -L; kcat -P of one keyed record to golden partition 0; kcat -C -e of golden; kcat -G golden-group golden for 6 s',
    frames: broker.take(),
  };
}

async function captureKafkaPython(broker: CaptureBroker): Promise<GoldenFile> {
  const script = [
    'from kafka import KafkaProducer',
    `p = KafkaProducer(bootstrap_servers='127.0.0.1:${broker.port}', client_id='golden-kafka-python')`,
    "p.send('golden', key=b'k', value=b'golden value', partition=0, timestamp_ms=1700000000000).get(timeout=5)",
    'p.close(timeout=2)',
    'from kafka import KafkaConsumer',
    `c = KafkaConsumer('golden', bootstrap_servers='127.0.0.1:${broker.port}', group_id='golden-group', client_id='golden-kafka-python', auto_offset_reset='earliest', consumer_timeout_ms=3000, fetch_max_wait_ms=200)`,
    'for _ in c: pass',
    'c.close()',
  ].join('\n');
  await run(PYTHON, ['-c', script], '', 30_000);
  const v = await run(PYTHON, ['-c', 'import kafka; print(kafka.__version__)'], '', 5_000);
  return {
    client: 'kafka-python',
    version: v.trim(),
    note: 'KafkaProducer start-up probe and send() of one record to golden; a KafkaConsumer in golden-group for 3 s',
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
