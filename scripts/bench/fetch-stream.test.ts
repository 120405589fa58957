import { describe, expect, it } from 'vitest';
import { encodeResponseFrame } from '../../codec/client.js';
import { createFetchResponse, createFetchResponseFetchableTopicResponse, createFetchResponsePartitionData } from '../../codec/generated/fetch.js';
import { buildRecordBatch } from '../../codec/records/records.js';
import { FetchResponseStream, type StreamedFetchAnswer } from './fetch-stream.js';

function batch(baseOffset: bigint, count: number, valueBytes: number): Buffer {
  const value = Buffer.alloc(valueBytes, 0x62);
  return buildRecordBatch({ baseOffset, records: Array.from({ length: count }, () => ({ key: null, value })) });
}

function response(correlationId: number, records: Buffer | null, errorCode = 0, aborted: number | null = null): Buffer {
  return encodeResponseFrame(1, 11, correlationId, createFetchResponse({
    responses: [createFetchResponseFetchableTopicResponse({
      topic: 'bench-topic',
      partitions: [createFetchResponsePartitionData({
        partitionIndex: 3,
        errorCode,
        highWatermark: 100n,
        abortedTransactions: aborted === null ? null : Array.from({ length: aborted }, (_, i) => ({ producerId: BigInt(i), firstOffset: 0n })),
        records,
      })],
    })],
  }));
}

function collect(stream: Buffer, pieces: number[]): StreamedFetchAnswer[] {
  const answers: StreamedFetchAnswer[] = [];
  const parser = new FetchResponseStream((a) => answers.push(a));
  const scratch = Buffer.alloc(stream.length); // reused, like the socket's receive buffer
  let at = 0;
  for (const size of pieces) {
    const n = Math.min(size, stream.length - at);
    stream.copy(scratch, 0, at, at + n);
    scratch.fill(0xee, n); // bytes past n must not be read
    parser.push(scratch, n);
    at += n;
  }
  expect(at).toBe(stream.length);
  return answers;
}

describe('FetchResponseStream', () => {
  const b1 = batch(0n, 3, 100);
  const b2 = batch(3n, 5, 40);
  const b3 = batch(8n, 2, 300);
  const cut = batch(10n, 4, 50).subarray(0, 90); // a batch cut by maxBytes: not counted
  const full = response(7, Buffer.concat([b1, b2, b3, cut]));
  const empty = response(8, null, 1);
  const withAborted = response(9, b2, 0, 2);
  const stream = Buffer.concat([full, empty, withAborted]);
  const expected: StreamedFetchAnswer[] = [
    {
      errorCode: 0,
      batches: [
        { baseOffset: 0n, lastOffset: 2n, records: 3, bytes: b1.length },
        { baseOffset: 3n, lastOffset: 7n, records: 5, bytes: b2.length },
        { baseOffset: 8n, lastOffset: 9n, records: 2, bytes: b3.length },
      ],
    },
    { errorCode: 1, batches: [] },
    { errorCode: 0, batches: [{ baseOffset: 3n, lastOffset: 7n, records: 5, bytes: b2.length }] },
  ];

  it('reads three responses delivered whole', () => {
    expect(collect(stream, [stream.length])).toEqual(expected);
  });

  it('reads them split at every byte boundary into two pieces', () => {
    for (let split = 1; split < stream.length; split++) {
      expect(collect(stream, [split, stream.length - split])).toEqual(expected);
    }
  });

  it('reads them one byte at a time and in pieces of 7 and 61 bytes', () => {
    expect(collect(stream, Array.from({ length: stream.length }, () => 1))).toEqual(expected);
    expect(collect(stream, Array.from({ length: Math.ceil(stream.length / 7) }, () => 7))).toEqual(expected);
    expect(collect(stream, Array.from({ length: Math.ceil(stream.length / 61) }, () => 61))).toEqual(expected);
  });

  it('throws on a frame too short to hold a Fetch v11 head', () => {
    const parser = new FetchResponseStream(() => undefined);
    const bad = Buffer.from([0, 0, 0, 6, 0, 0, 0, 1, 0, 0]);
    expect(() => parser.push(bad, bad.length)).toThrow(/not understood/);
  });
});
