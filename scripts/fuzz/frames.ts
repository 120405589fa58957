/**
 * Hostile request frames for the fuzz suite (compat-tests/fuzz.test.ts) and the long run
 * (`npm run fuzz`). A case is a random request that is valid for its API and version (built
 * from the schema descriptor, independently of the broker's decoders), encoded, then mutated:
 * bytes flipped, 16/32-bit fields overwritten with hostile counts and lengths, cut short or
 * padded, header fields changed. The size prefix always matches what follows, so every frame
 * is a whole frame: the broker must answer it or close the connection, never stall or die.
 * Deterministic for a seed.
 */
import { encodeRequestFrame } from '../../codec/client.js';
import { MESSAGE_SCHEMAS, type MessageSchema } from '../../codec/generated/schemas.js';
import { randomStruct, rng } from '../../codec/generator/sample-values.js';

export interface ServedVersions {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface FuzzCase {
  apiKey: number;
  version: number;
  /** Whole frame, size prefix included. */
  frame: Buffer;
  mutation: string;
}

/** Counts and lengths that make a naive reader allocate or loop: Kafka's int32/int16 limits and beyond. */
const HOSTILE_INT32 = [0x7fffffff, -1, -2, 0x80000000 | 0, 0x00800003, 1_000_000, 100_000, 65_536, 0x00ffffff];
const HOSTILE_INT16 = [0x7fff, -1, -2, -0x8000, 1000];

const REQUESTS = new Map<number, MessageSchema>(MESSAGE_SCHEMAS.filter((m) => m.kind === 'request').map((m) => [m.apiKey, m]));

/**
 * Caps applied to the random request before it is encoded, where the random value would make a
 * valid request that a real Kafka broker also holds on to (a Fetch waiting 2^31 ms, a JoinGroup
 * holding its member for a day): the suite would only measure its own timeouts.
 */
function tame(apiKey: number, body: Record<string, unknown>): void {
  if (apiKey === 1 && typeof body.maxWaitMs === 'number') body.maxWaitMs = Math.abs(body.maxWaitMs) % 200;
  if (apiKey === 11) {
    body.sessionTimeoutMs = 6000;
    body.rebalanceTimeoutMs = 1000;
  }
}

export class FuzzFrames {
  private readonly next: () => number;
  private readonly apis: Array<{ schema: MessageSchema; minVersion: number; maxVersion: number }>;
  private correlationId = 1;

  constructor(seed: number, served: readonly ServedVersions[]) {
    this.next = rng(seed);
    this.apis = [];
    for (const api of served) {
      const schema = REQUESTS.get(api.apiKey);
      if (schema) this.apis.push({ schema, minVersion: api.minVersion, maxVersion: api.maxVersion });
    }
    if (this.apis.length === 0) throw new Error('no served API has a request schema');
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  private pick<T>(values: readonly T[]): T {
    return values[this.int(0, values.length - 1)]!;
  }

  /** A valid random request of a served API and version, encoded as a frame. */
  validCase(): FuzzCase {
    const api = this.pick(this.apis);
    const version = this.int(api.minVersion, api.maxVersion);
    const body = randomStruct(api.schema.root, version, this.next);
    tame(api.schema.apiKey, body);
    const frame = encodeRequestFrame(api.schema.apiKey, version, this.correlationId++ & 0x7fffffff, 'fuzz', body);
    return { apiKey: api.schema.apiKey, version, frame, mutation: 'none' };
  }

  /** The next case: a quarter valid, the rest mutated. */
  nextCase(): FuzzCase {
    const base = this.validCase();
    const roll = this.next();
    if (roll < 0.25) return base;
    const frame = Buffer.from(base.frame);
    // Body starts after size(4) apiKey(2) version(2) correlationId(4) clientId(2 + 4 for "fuzz").
    const bodyStart = Math.min(frame.length, 18);
    let mutation: string;
    let out = frame;
    if (roll < 0.45 && frame.length > bodyStart + 4) {
      const at = this.int(bodyStart, frame.length - 4);
      const value = this.pick(HOSTILE_INT32);
      out.writeInt32BE(value, at);
      mutation = `int32@${at}=${value}`;
    } else if (roll < 0.6 && frame.length > bodyStart + 2) {
      const at = this.int(bodyStart, frame.length - 2);
      const value = this.pick(HOSTILE_INT16);
      out.writeInt16BE(value, at);
      mutation = `int16@${at}=${value}`;
    } else if (roll < 0.75 && frame.length > 4) {
      const flips = this.int(1, 4);
      for (let i = 0; i < flips; i++) out[this.int(4, frame.length - 1)] ^= 1 << this.int(0, 7);
      mutation = `flip${flips}`;
    } else if (roll < 0.85 && frame.length > 8) {
      const keep = this.int(8, frame.length - 1);
      out = frame.subarray(0, keep);
      mutation = `cut@${keep}`;
    } else if (roll < 0.93) {
      const extra = Buffer.alloc(this.int(1, 64));
      for (let i = 0; i < extra.length; i++) extra[i] = this.int(0, 255);
      out = Buffer.concat([frame, extra]);
      mutation = `pad${extra.length}`;
    } else {
      // Header: another API key or version, so a body meets a decoder it was not made for.
      if (this.next() < 0.5) out.writeInt16BE(this.pick(this.apis).schema.apiKey, 4);
      else out.writeInt16BE(this.int(-1, 20), 6);
      mutation = `header k${out.readInt16BE(4)} v${out.readInt16BE(6)}`;
    }
    out.writeInt32BE(out.length - 4, 0);
    return { apiKey: base.apiKey, version: base.version, frame: out, mutation };
  }
}

/**
 * The 38-byte CreatePartitions v3 request that once took the broker to 4.5 GB: 8,388,611
 * partitions for topic `seed2` (which must exist), timeout 5000 ms, validateOnly false.
 */
export const CREATE_PARTITIONS_REPRODUCTION = Buffer.from(
  '000000220025000300000007000466757a7a0002067365656432008000030000000013880000',
  'hex',
);
