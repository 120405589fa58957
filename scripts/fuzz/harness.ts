/**
 * One fuzz trial against a running broker process: the fixed reproduction case first, then
 * mutated frames of every served API and version over several connections, while a
 * well-behaved kafkajs producer keeps producing with acks=all and the broker's resident memory
 * is sampled from /proc. Used by compat-tests/fuzz.test.ts (bounded in time) and by
 * `npm run fuzz` (a long run with its figures printed).
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { decodeResponseFrame, encodeRequestFrame } from '../../codec/client.js';
import { CREATE_PARTITIONS_REPRODUCTION, type ServedVersions } from './frames.js';
import { runFuzz, type FuzzStats } from './session.js';

/**
 * What the broker's resident memory must stay under during a fuzz trial: its idle size (about
 * 100-200 MB with the tail cache empty) plus what the request-memory limits let hostile
 * clients hold at once (queued.max.request.bytes), with room for the heap's own growth.
 */
export const FUZZ_RSS_BOUND_MB = 768;

export interface TrialOptions {
  host: string;
  port: number;
  /** The broker's pid, for its resident memory. */
  pid: number;
  seed: number;
  frames: number;
  durationMs: number;
  connections?: number;
  caseTimeoutMs?: number;
  maxResponseBytes?: number;
  log?: (line: string) => void;
}

export interface TrialReport {
  stats: FuzzStats;
  /** API keys the broker advertised in ApiVersions (every one of them gets frames). */
  servedApis: number;
  seconds: number;
  rssStartMb: number;
  rssMaxMb: number;
  rssEndMb: number;
  /** Error code of the reproduction's one topic result, and how long its answer took. */
  reproduction: { errorCode: number | null; errorMessage: string | null; ms: number; closed: boolean };
  survivor: { acknowledged: number; errors: string[] };
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : 0;
}

/** Sends one frame on its own connection and resolves with the first response frame, or null if closed. */
function exchange(host: string, port: number, frame: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(buffered.subarray(0, 4 + buffered.readInt32BE(0)));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
}

export async function servedVersions(host: string, port: number): Promise<ServedVersions[]> {
  const response = await exchange(host, port, encodeRequestFrame(18, 0, 1, 'fuzz', { clientSoftwareName: '', clientSoftwareVersion: '' }), 10_000);
  if (response === null) throw new Error('ApiVersions: connection closed');
  return decodeResponseFrame(18, 0, response).body.apiKeys;
}

export async function fuzzTrial(options: TrialOptions): Promise<TrialReport> {
  const log = options.log ?? (() => undefined);
  const bootstrap = `${options.host}:${options.port}`;
  const kafka = new Kafka({ clientId: 'fuzz-survivor', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'seed2', numPartitions: 1 }, { topic: 'fuzz-survivor', numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();

  const rssStartMb = rssMb(options.pid);
  let rssMaxMb = rssStartMb;
  const sampler = setInterval(() => {
    try {
      rssMaxMb = Math.max(rssMaxMb, rssMb(options.pid));
    } catch {
      /* the process is gone; the caller sees it exited */
    }
  }, 200);

  const producer = kafka.producer();
  await producer.connect();
  const survivor = { acknowledged: 0, errors: [] as string[] };
  let producing = true;
  const background = (async () => {
    let i = 0;
    while (producing) {
      try {
        await producer.send({ topic: 'fuzz-survivor', acks: -1, messages: [{ key: String(i % 7), value: `survivor-${i}` }] });
        survivor.acknowledged++;
      } catch (err) {
        survivor.errors.push((err as Error).message);
      }
      i++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const started = Date.now();
  try {
    const reproStarted = Date.now();
    const answer = await exchange(options.host, options.port, CREATE_PARTITIONS_REPRODUCTION, 120_000);
    const reproduction = { errorCode: null as number | null, errorMessage: null as string | null, ms: Date.now() - reproStarted, closed: answer === null };
    if (answer) {
      const result = decodeResponseFrame(37, 3, answer).body.results[0];
      reproduction.errorCode = result?.errorCode ?? null;
      reproduction.errorMessage = result?.errorMessage ?? null;
    }
    log(`reproduction: error ${reproduction.errorCode} (${reproduction.errorMessage}) in ${reproduction.ms} ms`);

    const served = await servedVersions(options.host, options.port);
    const stats = await runFuzz({
      host: options.host,
      port: options.port,
      seed: options.seed,
      served,
      frames: options.frames,
      deadline: started + options.durationMs,
      connections: options.connections ?? 8,
      caseTimeoutMs: options.caseTimeoutMs ?? 2_000,
      maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
    });
    return {
      stats,
      servedApis: served.length,
      seconds: (Date.now() - started) / 1000,
      rssStartMb,
      rssMaxMb,
      rssEndMb: rssMb(options.pid),
      reproduction,
      survivor,
    };
  } finally {
    producing = false;
    await background;
    await producer.disconnect().catch(() => undefined);
    clearInterval(sampler);
  }
}
