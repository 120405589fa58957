import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignBatchOffsets, MAX_TIMESTAMP, PARTITION_LEADER_EPOCH, TIMESTAMP_TYPE_LOG_APPEND, ATTRIBUTES } from '../codec/records/batch-header.js';
import { ErrorCode, KafkaError } from '../codec/error-codes.js';
import { buildRecordBatch } from '../codec/records/records.js';
import { CompressionType } from '../codec/records/batch-header.js';
import { buildTestBatch, concatBatches } from './testing.js';
import { isTruncatable, type AppendOptions, type PartitionLog } from './types.js';

/**
 * The behaviour every PartitionLog implementation must show, written once (like
 * aedes-persistence's abstract suite). A harness hands out fresh, empty logs.
 */
export interface PartitionLogHarness {
  /** A new empty log (e.g. partition 0 of a new topic). */
  newLog(): Promise<PartitionLog>;
  close(): Promise<void>;
}

const CREATE_TIME: AppendOptions = { logAppendTime: false, leaderEpoch: 0 };

async function appendBatches(log: PartitionLog, batches: Buffer[], options: AppendOptions = CREATE_TIME) {
  const { records, infos } = concatBatches(batches);
  return log.append(records, infos, options);
}

/** The bytes a stored batch must have: the input with base offset and leader epoch filled in. */
function expected(batch: Buffer, baseOffset: bigint, epoch = 0): Buffer {
  const copy = Buffer.from(batch);
  assignBatchOffsets(copy, baseOffset, epoch);
  return copy;
}

async function expectKafkaError(p: Promise<unknown>, code: number): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KafkaError);
  expect((err as KafkaError).code).toBe(code);
}

/** What an implementation can do beyond PartitionLog; the tests that need more are skipped, visibly. */
export interface PartitionLogCapabilities {
  /** The harness's logs implement TruncatablePartitionLog (setLogStartOffset). */
  truncatable: boolean;
}

export function describePartitionLog(
  name: string,
  factory: () => Promise<PartitionLogHarness>,
  capabilities: PartitionLogCapabilities = { truncatable: true },
): void {
  const { truncatable } = capabilities;
  const notTruncatable = ' [skipped: this log cannot move its start]';
  describe(`PartitionLog conformance: ${name}`, () => {
    let harness: PartitionLogHarness;
    beforeAll(async () => {
      harness = await factory();
    });
    afterAll(async () => {
      await harness?.close();
    });

    it(`${truncatable ? 'is' : 'is not'} truncatable, as the harness declares`, async () => {
      expect(isTruncatable(await harness.newLog())).toBe(truncatable);
    });

    it('starts empty', async () => {
      const log = await harness.newLog();
      expect(log.highWatermark()).toBe(0n);
      expect(log.logStartOffset()).toBe(0n);
      expect(log.lastStableOffset()).toBe(0n);
      expect(await log.read(0n, 1 << 20, { maxOffset: 0n, minOneBatch: true })).toEqual({ batches: [], bytes: 0 });
      expect(await log.offsetForTimestamp(0n)).toBeNull();
      expect(await log.maxTimestamp()).toBeNull();
    });

    it('assigns sequential offsets across appends and batches', async () => {
      const log = await harness.newLog();
      const r1 = await appendBatches(log, [buildTestBatch({ values: ['a', 'b', 'c'] })]);
      expect(r1.baseOffset).toBe(0n);
      expect(r1.logAppendTimeMs).toBe(-1n);
      expect(r1.logStartOffset).toBe(0n);
      const r2 = await appendBatches(log, [buildTestBatch({ values: ['d'] }), buildTestBatch({ values: ['e', 'f'] })]);
      expect(r2.baseOffset).toBe(3n);
      const r3 = await appendBatches(log, [buildTestBatch({ values: ['g'] })]);
      expect(r3.baseOffset).toBe(6n);
      expect(log.highWatermark()).toBe(7n);
      expect(log.lastStableOffset()).toBe(7n);
    });

    it('reads back byte-identical batches with offsets and leader epoch written in', async () => {
      const log = await harness.newLog();
      const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
      const b1 = buildTestBatch({ values: ['x', binary, Buffer.alloc(0)] });
      const b2 = buildTestBatch({ values: ['y'], producerId: 42n, producerEpoch: 3, baseSequence: 0 });
      await appendBatches(log, [b1], { logAppendTime: false, leaderEpoch: 5 });
      await appendBatches(log, [b2], { logAppendTime: false, leaderEpoch: 6 });
      const read = await log.read(0n, 1 << 20, { maxOffset: log.highWatermark(), minOneBatch: true });
      expect(read.batches).toHaveLength(2);
      expect(read.batches[0]!.equals(expected(b1, 0n, 5))).toBe(true);
      expect(read.batches[1]!.equals(expected(b2, 3n, 6))).toBe(true);
      expect(read.batches[1]!.readInt32BE(PARTITION_LEADER_EPOCH)).toBe(6);
      expect(read.bytes).toBe(b1.length + b2.length);
    });

    it('does not keep a reference to the caller buffer', async () => {
      const log = await harness.newLog();
      const b = buildTestBatch({ values: ['keep'] });
      const { records, infos } = concatBatches([b]);
      const pending = log.append(records, infos, CREATE_TIME);
      records.fill(0);
      await pending;
      const read = await log.read(0n, 1 << 20, { maxOffset: 1n, minOneBatch: true });
      expect(read.batches[0]!.equals(expected(b, 0n))).toBe(true);
    });

    describe('read boundaries', () => {
      let log: PartitionLog;
      const batches: Buffer[] = [];
      beforeAll(async () => {
        log = await harness.newLog();
        // Five batches of 2 records each: offsets 0-1, 2-3, 4-5, 6-7, 8-9.
        for (let i = 0; i < 5; i++) {
          const b = buildTestBatch({ values: [`v${i}a`, `v${i}b`], baseTimestamp: 1000n + BigInt(i * 10) });
          batches.push(expected(b, BigInt(i * 2)));
          await appendBatches(log, [b]);
        }
      });
      const size = () => batches[0]!.length;

      it('starts with the batch containing a middle offset', async () => {
        const r = await log.read(5n, 1 << 20, { maxOffset: 10n, minOneBatch: true });
        expect(r.batches.map((b) => b.readBigInt64BE(0))).toEqual([4n, 6n, 8n]);
      });

      it('stops within maxBytes', async () => {
        const r = await log.read(0n, size() * 2 + 1, { maxOffset: 10n, minOneBatch: true });
        expect(r.batches).toHaveLength(2);
        expect(r.bytes).toBe(size() * 2);
      });

      it('returns one batch bigger than maxBytes only with minOneBatch', async () => {
        const one = await log.read(2n, 1, { maxOffset: 10n, minOneBatch: true });
        expect(one.batches).toHaveLength(1);
        expect(one.batches[0]!.equals(batches[1]!)).toBe(true);
        const none = await log.read(2n, 1, { maxOffset: 10n, minOneBatch: false });
        expect(none.batches).toHaveLength(0);
        expect(none.bytes).toBe(0);
      });

      it('cuts at maxBytes exactly (a batch ending on the limit is kept)', async () => {
        const exact = await log.read(0n, size() * 3, { maxOffset: 10n, minOneBatch: false });
        expect(exact.batches.map((b) => b.readBigInt64BE(0))).toEqual([0n, 2n, 4n]);
        const under = await log.read(0n, size() * 3 - 1, { maxOffset: 10n, minOneBatch: false });
        expect(under.batches.map((b) => b.readBigInt64BE(0))).toEqual([0n, 2n]);
        expect(under.bytes).toBe(size() * 2);
      });

      it('cuts at maxBytes from a middle offset, before maxOffset', async () => {
        const r = await log.read(5n, size() * 2, { maxOffset: 10n, minOneBatch: true });
        expect(r.batches.map((b) => b.readBigInt64BE(0))).toEqual([4n, 6n]);
        const capped = await log.read(5n, 1 << 20, { maxOffset: 7n, minOneBatch: false });
        expect(capped.batches.map((b) => b.readBigInt64BE(0))).toEqual([4n, 6n]);
      });

      it('maxBytes 0: one batch with minOneBatch, else none', async () => {
        const one = await log.read(9n, 0, { maxOffset: 10n, minOneBatch: true });
        expect(one.batches.map((b) => b.readBigInt64BE(0))).toEqual([8n]);
        expect(one.batches[0]!.equals(batches[4]!)).toBe(true);
        expect(await log.read(9n, 0, { maxOffset: 10n, minOneBatch: false })).toEqual({ batches: [], bytes: 0 });
      });

      it('ends before maxOffset', async () => {
        const r = await log.read(0n, 1 << 20, { maxOffset: 6n, minOneBatch: true });
        expect(r.batches.map((b) => b.readBigInt64BE(0))).toEqual([0n, 2n, 4n]);
        const inside = await log.read(0n, 1 << 20, { maxOffset: 5n, minOneBatch: true });
        expect(inside.batches.map((b) => b.readBigInt64BE(0))).toEqual([0n, 2n, 4n]);
      });

      it('returns nothing at the high watermark', async () => {
        expect(await log.read(10n, 1 << 20, { maxOffset: 10n, minOneBatch: true })).toEqual({ batches: [], bytes: 0 });
      });

      it('throws OFFSET_OUT_OF_RANGE beyond the high watermark and below the log start', async () => {
        await expectKafkaError(log.read(11n, 1 << 20, { maxOffset: 10n, minOneBatch: true }), ErrorCode.OFFSET_OUT_OF_RANGE);
        await expectKafkaError(log.read(-1n, 1 << 20, { maxOffset: 10n, minOneBatch: true }), ErrorCode.OFFSET_OUT_OF_RANGE);
      });

      it('finds offsets by timestamp', async () => {
        // Batch i has records at 1000+10i and 1001+10i.
        expect(await log.offsetForTimestamp(0n)).toEqual({ offset: 0n, timestamp: 1000n });
        expect(await log.offsetForTimestamp(1001n)).toEqual({ offset: 1n, timestamp: 1001n });
        expect(await log.offsetForTimestamp(1005n)).toEqual({ offset: 2n, timestamp: 1010n });
        expect(await log.offsetForTimestamp(1041n)).toEqual({ offset: 9n, timestamp: 1041n });
        expect(await log.offsetForTimestamp(1042n)).toBeNull();
      });

      it('finds the record with the largest timestamp', async () => {
        expect(await log.maxTimestamp()).toEqual({ offset: 9n, timestamp: 1041n });
      });
    });

    it('gives concurrent appends to one partition distinct, contiguous offsets', async () => {
      const log = await harness.newLog();
      const n = 40;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          appendBatches(log, [buildTestBatch({ values: Array.from({ length: (i % 3) + 1 }, (_, k) => `c${i}-${k}`) })]),
        ),
      );
      const total = results.reduce((acc, _, i) => acc + (i % 3) + 1, 0);
      expect(log.highWatermark()).toBe(BigInt(total));
      // Each caller's base offset points at its own batch.
      const read = await log.read(0n, 1 << 24, { maxOffset: log.highWatermark(), minOneBatch: true });
      expect(read.batches).toHaveLength(n);
      const byOffset = new Map(read.batches.map((b) => [b.readBigInt64BE(0), b]));
      results.forEach((r, i) => {
        const b = byOffset.get(r.baseOffset);
        expect(b).toBeDefined();
        expect(b!.readInt32BE(57)).toBe((i % 3) + 1);
      });
    });

    it('stamps LogAppendTime batches with the append time', async () => {
      const log = await harness.newLog();
      const before = BigInt(Date.now());
      const r = await appendBatches(log, [buildTestBatch({ values: ['t'], baseTimestamp: 5n })], { logAppendTime: true, leaderEpoch: 0 });
      expect(r.logAppendTimeMs).toBeGreaterThanOrEqual(before);
      const read = await log.read(0n, 1 << 20, { maxOffset: 1n, minOneBatch: true });
      const stored = read.batches[0]!;
      expect(stored.readBigInt64BE(MAX_TIMESTAMP)).toBe(r.logAppendTimeMs);
      expect(stored.readInt16BE(ATTRIBUTES) & TIMESTAMP_TYPE_LOG_APPEND).toBe(TIMESTAMP_TYPE_LOG_APPEND);
      expect(await log.maxTimestamp()).toEqual({ offset: 0n, timestamp: r.logAppendTimeMs });
    });

    it('stores compressed batches as they are and finds timestamps inside them', async () => {
      const log = await harness.newLog();
      const gz = buildRecordBatch({
        compression: CompressionType.Gzip,
        records: [
          { value: 'a'.repeat(500), timestamp: 2000n },
          { value: 'b'.repeat(500), timestamp: 2050n },
          { value: 'c'.repeat(500), timestamp: 2020n },
        ],
      });
      await appendBatches(log, [buildTestBatch({ values: ['first'], baseTimestamp: 1000n })]);
      const r = await appendBatches(log, [gz]);
      expect(r.baseOffset).toBe(1n);
      const read = await log.read(1n, 1 << 20, { maxOffset: log.highWatermark(), minOneBatch: true });
      expect(read.batches[0]!.equals(expected(gz, 1n))).toBe(true);
      expect(await log.offsetForTimestamp(2001n)).toEqual({ offset: 2n, timestamp: 2050n });
      expect(await log.maxTimestamp()).toEqual({ offset: 2n, timestamp: 2050n });
    });

    it('notifies onAppend listeners after commits until unsubscribed', async () => {
      const log = await harness.newLog();
      const seen: bigint[] = [];
      const off = log.onAppend(() => seen.push(log.highWatermark()));
      await appendBatches(log, [buildTestBatch({ values: ['1'] })]);
      await appendBatches(log, [buildTestBatch({ values: ['2', '3'] })]);
      off();
      await appendBatches(log, [buildTestBatch({ values: ['4'] })]);
      expect(seen).toEqual([1n, 3n]);
    });

    describe('sequential reads (a MySQL log may read ahead)', () => {
      /** A log of n batches of 2 records each (offsets 2i, 2i+1) and their stored bytes. */
      async function filled(n: number): Promise<{ log: PartitionLog; stored: Buffer[] }> {
        const log = await harness.newLog();
        const stored: Buffer[] = [];
        for (let i = 0; i < n; i++) {
          const b = buildTestBatch({ values: [`s${i}a`, `s${i}b`] });
          stored.push(expected(b, log.highWatermark()));
          await appendBatches(log, [b]);
        }
        return { log, stored };
      }
      const bases = (r: { batches: Buffer[] }) => r.batches.map((b) => b.readBigInt64BE(0));
      const same = (r: { batches: Buffer[]; bytes: number }, want: Buffer[]) => {
        expect(r.batches).toHaveLength(want.length);
        r.batches.forEach((b, i) => expect(b.equals(want[i]!)).toBe(true));
        expect(r.bytes).toBe(want.reduce((a, b) => a + b.length, 0));
      };

      it('returns the stored bytes when a reader asks for the same offset again', async () => {
        const { log, stored } = await filled(6);
        const two = stored[0]!.length * 2;
        same(await log.read(0n, two, { maxOffset: 12n, minOneBatch: true }), stored.slice(0, 2));
        same(await log.read(4n, two, { maxOffset: 12n, minOneBatch: true }), stored.slice(2, 4));
        same(await log.read(4n, two, { maxOffset: 12n, minOneBatch: true }), stored.slice(2, 4));
        same(await log.read(8n, two, { maxOffset: 12n, minOneBatch: true }), stored.slice(4, 6));
      });

      it('returns the stored bytes read after read, two batches at a time', async () => {
        const { log, stored } = await filled(7);
        const two = stored[0]!.length * 2;
        for (let i = 0; i < 7; i += 2) {
          const r = await log.read(BigInt(i * 2), two, { maxOffset: log.highWatermark(), minOneBatch: true });
          same(r, stored.slice(i, i + 2));
        }
      });

      it('honours a different maxBytes, maxOffset or minOneBatch on the next read', async () => {
        const { log, stored } = await filled(8);
        const size = stored[0]!.length;
        same(await log.read(0n, size * 2, { maxOffset: 16n, minOneBatch: true }), stored.slice(0, 2));
        same(await log.read(4n, size * 3, { maxOffset: 16n, minOneBatch: true }), stored.slice(2, 5));
        same(await log.read(10n, size * 2, { maxOffset: 12n, minOneBatch: true }), stored.slice(5, 6));
        same(await log.read(12n, size * 2, { maxOffset: 16n, minOneBatch: true }), stored.slice(6, 8));
        same(await log.read(0n, size, { maxOffset: 16n, minOneBatch: true }), stored.slice(0, 1));
        same(await log.read(2n, size - 1, { maxOffset: 16n, minOneBatch: false }), []);
        same(await log.read(2n, size - 1, { maxOffset: 16n, minOneBatch: true }), stored.slice(1, 2));
        // Out of order: back to the start after reading further on.
        same(await log.read(8n, size, { maxOffset: 16n, minOneBatch: true }), stored.slice(4, 5));
        same(await log.read(0n, size * 8, { maxOffset: 16n, minOneBatch: true }), stored);
      });

      it('sees appends made between reads', async () => {
        const { log, stored } = await filled(4);
        const size = stored[0]!.length;
        const two = size * 2;
        same(await log.read(0n, size, { maxOffset: log.highWatermark(), minOneBatch: true }), stored.slice(0, 1));
        same(await log.read(2n, size, { maxOffset: log.highWatermark(), minOneBatch: true }), stored.slice(1, 2));
        for (let i = 4; i < 7; i++) {
          const b = buildTestBatch({ values: [`s${i}a`, `s${i}b`] });
          stored.push(expected(b, log.highWatermark()));
          await appendBatches(log, [b]);
        }
        same(await log.read(4n, two * 2, { maxOffset: log.highWatermark(), minOneBatch: true }), stored.slice(2, 6));
        same(await log.read(12n, two * 2, { maxOffset: log.highWatermark(), minOneBatch: true }), stored.slice(6, 7));
        same(await log.read(14n, two, { maxOffset: log.highWatermark(), minOneBatch: true }), []);
      });

      it.skipIf(!truncatable)(
        `answers OFFSET_OUT_OF_RANGE below a log start moved between reads, and the stored bytes above it${truncatable ? '' : notTruncatable}`,
        async () => {
          const { log, stored } = await filled(8);
          if (!isTruncatable(log)) throw new Error('the harness declared its logs truncatable');
          const size = stored[0]!.length;
          const two = size * 2;
          same(await log.read(0n, size, { maxOffset: 16n, minOneBatch: true }), stored.slice(0, 1));
          same(await log.read(2n, size, { maxOffset: 16n, minOneBatch: true }), stored.slice(1, 2));
          expect(await log.setLogStartOffset(6n)).toBe(6n);
          await expectKafkaError(log.read(4n, size, { maxOffset: 16n, minOneBatch: true }), ErrorCode.OFFSET_OUT_OF_RANGE);
          same(await log.read(6n, two, { maxOffset: 12n, minOneBatch: true }), stored.slice(3, 5));
          expect(await log.setLogStartOffset(7n)).toBe(7n);
          expect(bases(await log.read(10n, two, { maxOffset: 12n, minOneBatch: true }))).toEqual([10n]);
          expect(bases(await log.read(7n, two, { maxOffset: 12n, minOneBatch: true }))).toEqual([6n, 8n]);
        },
      );

      it('gives concurrent sequential readers the same bytes', async () => {
        const { log, stored } = await filled(9);
        const two = stored[0]!.length * 2;
        const reader = async () => {
          const got: Buffer[] = [];
          for (let off = 0n; off < 18n; ) {
            const r = await log.read(off, two, { maxOffset: 18n, minOneBatch: true });
            got.push(...r.batches);
            off = r.batches[r.batches.length - 1]!.readBigInt64BE(0) + 2n;
          }
          return got;
        };
        const [a, b, c] = await Promise.all([reader(), reader(), reader()]);
        for (const got of [a!, b!, c!]) same({ batches: got, bytes: got.reduce((x, y) => x + y.length, 0) }, stored);
      });
    });
  });
}
