/**
 * Helpers for the real-client compatibility tests: a raw protocol client over a socket (for
 * group-less reads and hand-made requests), kcat (librdkafka) and kafka-python runners, and
 * record comparison. Every child process started here is awaited, and killed when it
 * outlives its time limit, so none survives a test.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { KafkaConnection } from '../../client/connection.js';
import { createFetchRequest, type FetchResponse, type FetchResponsePartitionData } from '../../codec/generated/fetch.js';
import { decodeBatchRecords, type KafkaRecord } from '../../codec/records/records.js';

export const KCAT = '/usr/bin/kcat';
export const PYTHON = '/usr/bin/python3';

// ---------------------------------------------------------------------------------------------
// Raw protocol client

/**
 * One TCP connection speaking the Kafka protocol through the project's codec: the shared
 * client of client/connection.ts (responses matched by correlation id, `sendFrame` for
 * hand-made frames, `sendRaw` for hostile bytes, `end` to half-close), with no request timeout
 * (each test has its own).
 */
export type RawClient = KafkaConnection;
export const RawClient = {
  connect: (port: number, host = '127.0.0.1'): Promise<RawClient> => KafkaConnection.open({ port, host, clientId: 'compat-raw', requestTimeoutMs: 0 }),
};

/** Resolves true if `client` sees 'close' within `ms`, false otherwise. */
export async function closesWithin(client: RawClient, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([client.closed.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The batches in a Fetch response's records, stopping at a trailing partial batch. */
export function splitBatches(records: Buffer | readonly Buffer[] | null): Buffer[] {
  if (records === null) return [];
  const buf = Buffer.isBuffer(records) ? records : Buffer.concat(records as Buffer[]);
  const batches: Buffer[] = [];
  let pos = 0;
  while (pos + 12 <= buf.length) {
    const length = buf.readInt32BE(pos + 8);
    if (pos + 12 + length > buf.length) break;
    batches.push(buf.subarray(pos, pos + 12 + length));
    pos += 12 + length;
  }
  return batches;
}

export const FETCH_VERSION = 12;

export interface FetchOnceOptions {
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  partitionMaxBytes?: number;
  version?: number;
}

/** One Fetch for one partition; returns the partition's data. */
export async function fetchOnce(client: RawClient, topic: string, partition: number, offset: bigint, opts: FetchOnceOptions = {}): Promise<FetchResponsePartitionData> {
  const response: FetchResponse = await client.request(
    1,
    opts.version ?? FETCH_VERSION,
    createFetchRequest({
      maxWaitMs: opts.maxWaitMs ?? 0,
      minBytes: opts.minBytes ?? 1,
      maxBytes: opts.maxBytes ?? 50 * 1024 * 1024,
      topics: [
        {
          topic,
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          partitions: [
            {
              partition,
              currentLeaderEpoch: -1,
              fetchOffset: offset,
              lastFetchedEpoch: -1,
              logStartOffset: -1n,
              partitionMaxBytes: opts.partitionMaxBytes ?? 10 * 1024 * 1024,
              replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA',
            },
          ],
        },
      ],
    }),
  );
  if (response.errorCode !== 0) throw new Error(`fetch error ${response.errorCode}`);
  const data = response.responses[0]?.partitions[0];
  if (!data) throw new Error('fetch response without the partition');
  return data;
}

/**
 * Reads a partition from `from` up to `until` (exclusive; default: the high watermark seen in
 * the first response) with raw Fetches, decoding every batch. Fails on a partition error or
 * when no progress is made for `stallMs`.
 */
export async function readPartition(
  port: number,
  topic: string,
  partition: number,
  opts: { from?: bigint; until?: bigint; stallMs?: number } = {},
): Promise<{ records: KafkaRecord[]; highWatermark: bigint; logStartOffset: bigint }> {
  const client = await RawClient.connect(port);
  try {
    let offset = opts.from ?? 0n;
    let until = opts.until;
    let highWatermark = -1n;
    let logStartOffset = -1n;
    const records: KafkaRecord[] = [];
    let lastProgress = Date.now();
    for (;;) {
      const data = await fetchOnce(client, topic, partition, offset, { maxWaitMs: 100 });
      if (data.errorCode !== 0) throw new Error(`fetch ${topic}/${partition}@${offset}: error ${data.errorCode}`);
      highWatermark = data.highWatermark;
      logStartOffset = data.logStartOffset;
      until ??= highWatermark;
      if (offset >= until) break;
      let progressed = false;
      for (const batch of splitBatches(data.records)) {
        for (const record of decodeBatchRecords(batch)) {
          if (record.offset < offset || record.offset >= until) continue;
          records.push(record);
          offset = record.offset + 1n;
          progressed = true;
        }
        // A batch of only skipped records (e.g. control records) still moves the position.
        const last = batch.readBigInt64BE(0) + BigInt(batch.readInt32BE(23));
        if (last + 1n > offset) {
          offset = last + 1n;
          progressed = true;
        }
      }
      if (progressed) lastProgress = Date.now();
      else if (Date.now() - lastProgress > (opts.stallMs ?? 15_000)) {
        throw new Error(`no progress reading ${topic}/${partition} at ${offset} (until ${until}, HW ${highWatermark})`);
      }
    }
    return { records, highWatermark, logStartOffset };
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a program to completion, feeding `input` on stdin. Kills it (SIGKILL) after
 * `timeoutMs` and rejects then, with what it printed.
 */
export function runProcess(command: string, args: string[], opts: { input?: Buffer | string; timeoutMs?: number; cwd?: string } = {}): Promise<ProcessResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd });
    const stdout: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdin.on('error', () => {
      /* the program may exit before reading all input; its exit status tells */
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout: Buffer.concat(stdout), stderr };
      if (timedOut) {
        reject(new Error(`${path.basename(command)} ${args.join(' ')} did not finish in ${timeoutMs} ms\nstderr:\n${stderr}`));
      } else resolve(result);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Fails (never skips) when kcat is missing, saying what to install. */
export function requireKcat(): void {
  if (!existsSync(KCAT)) throw new Error(`${KCAT} not found: install kcat (apt-get install kcat)`);
}

/** Fails (never skips) when Debian's python3 or its Kafka modules are missing. */
export function requirePython(modules: string[] = ['kafka']): void {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: install python3 (apt-get install python3)`);
  for (const module of modules) {
    const check = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 30_000 });
    if (check.status !== 0) {
      const pkg = module === 'kafka' ? 'python3-kafka' : module === 'confluent_kafka' ? 'python3-confluent-kafka' : `python3-${module}`;
      throw new Error(`${PYTHON} cannot import ${module}: install ${pkg} (apt-get install ${pkg})\n${check.stderr}`);
    }
  }
}

/** Runs kcat and fails with its stderr unless it exits 0. */
export async function kcat(args: string[], opts: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<Buffer> {
  const result = await runProcess(KCAT, args, opts);
  if (result.code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${result.code ?? result.signal}\n${result.stderr}`);
  return result.stdout;
}

export interface KcatRecord {
  partition: number;
  offset: bigint;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** kcat's "n=v" CSV of the headers ('' when there are none). */
  headers: string;
}

/** The -f format parseKcatOutput understands: lengths first, so keys and values may be binary. */
export const KCAT_FORMAT = '%p %o %K %S %T %h\\n%k%s';

/** Parses kcat -C -f KCAT_FORMAT output. Header values must not contain newlines. */
export function parseKcatOutput(out: Buffer): KcatRecord[] {
  const records: KcatRecord[] = [];
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(0x0a, pos);
    if (nl < 0) throw new Error(`truncated kcat output at ${pos}`);
    const line = out.subarray(pos, nl).toString('latin1');
    const match = /^(\d+) (\d+) (-?\d+) (-?\d+) (-?\d+) ?(.*)$/.exec(line);
    if (!match) throw new Error(`unexpected kcat line ${JSON.stringify(line)}`);
    pos = nl + 1;
    const keyLength = Number(match[3]);
    const valueLength = Number(match[4]);
    const key = keyLength < 0 ? null : Buffer.from(out.subarray(pos, pos + keyLength));
    pos += Math.max(0, keyLength);
    const value = valueLength < 0 ? null : Buffer.from(out.subarray(pos, pos + valueLength));
    pos += Math.max(0, valueLength);
    records.push({
      partition: Number(match[1]),
      offset: BigInt(match[2]!),
      timestamp: BigInt(match[5]!),
      key,
      value,
      headers: Buffer.from(match[6]!, 'latin1').toString('utf8'),
    });
  }
  return records;
}

/** kcat -C of one partition from the beginning to its end, parsed. */
export async function kcatConsume(bootstrap: string, topic: string, partition: number, extra: string[] = []): Promise<KcatRecord[]> {
  const out = await kcat(['-C', '-b', bootstrap, '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-f', KCAT_FORMAT, ...extra], {
    timeoutMs: 60_000,
  });
  return parseKcatOutput(out);
}

/** Writes a Python script into a fresh temp dir and runs it with Debian's python3. */
export async function runPython(script: string, args: string[] = [], opts: { input?: string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-py-'));
  try {
    const file = path.join(dir, 'script.py');
    await fs.writeFile(file, script);
    return await runProcess(PYTHON, [file, ...args], { timeoutMs: opts.timeoutMs ?? 90_000, cwd: dir, input: opts.input });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Records

/** A record reduced to what producers control, for exact comparisons. */
export interface Comparable {
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
}

const hex = (b: Buffer | null | undefined): string | null => (b === null || b === undefined ? null : b.toString('hex'));

export function comparable(record: KafkaRecord): Comparable {
  return { key: hex(record.key), value: hex(record.value), headers: record.headers.map((h) => [h.key, hex(h.value)]) };
}

/** Asserts offsets are exactly from, from+1, ... (no gap, no duplicate). */
export function contiguousFrom(records: { offset: bigint }[], from = 0n): boolean {
  return records.every((r, i) => r.offset === from + BigInt(i));
}

/** Polls `check` until it resolves true or `timeoutMs` passes; returns the last result. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every byte value, repeated to `length` bytes. */
export function allByteValues(length = 256, shift = 0): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i + shift) & 0xff;
  return b;
}
