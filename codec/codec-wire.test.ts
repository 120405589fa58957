import { describe, expect, it } from 'vitest';
import { decodeRequestFrame, decodeResponseFrame, encodeRequestFrame, encodeResponseFrame } from './client.js';
import { createApiVersionsResponse, decodeApiVersionsRequest } from './generated/api-versions.js';
import {
  createDescribeTopicPartitionsRequest,
  encodeDescribeTopicPartitionsRequest,
} from './generated/describe-topic-partitions.js';
import {
  createFetchResponse,
  createFetchResponseLeaderIdAndEpoch,
  createFetchResponsePartitionData,
  decodeFetchResponse,
  encodeFetchResponse,
  encodeFetchResponsePartitionData,
} from './generated/fetch.js';
import { encodeRequestHeader } from './generated/headers.js';
import { createMetadataRequest, decodeMetadataRequest, encodeMetadataRequest } from './generated/metadata.js';
import { createProduceRequest, decodeProduceRequest, encodeProduceRequest } from './generated/produce.js';
import { API_DEFINITIONS, ApiKey } from './generated/registry.js';
import { DecodeError } from './primitives/errors.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function bytesOf(fn: (w: Writer) => void): string {
  const w = new Writer(16);
  fn(w);
  return w.toBuffer().toString('hex');
}

describe('byte layouts written out from the protocol description', () => {
  it('request header v2 keeps ClientId a classic int16-length string, then a tag buffer', () => {
    const out = bytesOf((w) =>
      encodeRequestHeader(w, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'abc' }, 2),
    );
    expect(out).toBe('0012' + '0003' + '00000007' + '0003616263' + '00');
  });

  it('flexible produce v9: compact null string, compact arrays and bytes, a tag buffer per struct', () => {
    const msg = createProduceRequest({
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [{ name: 'a', partitionData: [{ index: 0, records: hex('010203') }] }],
    });
    const out = bytesOf((w) => encodeProduceRequest(w, msg, 9));
    expect(out).toBe('00' + 'ffff' + '000003e8' + '02' + '0261' + '02' + '00000000' + '04010203' + '00' + '00' + '00');
    expect(decodeProduceRequest(new Reader(Buffer.from(out, 'hex')), 9)).toEqual(msg);
  });

  it('classic metadata v0: int32 array length and int16 string length', () => {
    const msg = createMetadataRequest({ topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 't' }] });
    expect(bytesOf((w) => encodeMetadataRequest(w, msg, 0))).toBe('00000001' + '0001' + '74');
  });

  it('a tagged struct field is written only when it differs from its default', () => {
    const base = createFetchResponsePartitionData({ records: null });
    expect(bytesOf((w) => encodeFetchResponsePartitionData(w, base, 12)).endsWith('00' + '00')).toBe(true);
    const withLeader = { ...base, currentLeader: createFetchResponseLeaderIdAndEpoch({ leaderId: 5, leaderEpoch: 7 }) };
    // records null (00), then tag buffer: 1 field, tag 1, size 9, leaderId, leaderEpoch, nested tag buffer
    expect(bytesOf((w) => encodeFetchResponsePartitionData(w, withLeader, 12)).endsWith('00' + '01' + '01' + '09' + '00000005' + '00000007' + '00')).toBe(true);
  });

  it('a nullable struct carries a -1 / 1 marker byte', () => {
    const none = createDescribeTopicPartitionsRequest();
    expect(bytesOf((w) => encodeDescribeTopicPartitionsRequest(w, none, 0))).toBe('01' + '000007d0' + 'ff' + '00');
    const some = createDescribeTopicPartitionsRequest({ cursor: { topicName: 'x', partitionIndex: 2 } });
    expect(bytesOf((w) => encodeDescribeTopicPartitionsRequest(w, some, 0))).toBe(
      '01' + '000007d0' + '01' + '0278' + '00000002' + '00' + '00',
    );
  });
});

describe('header versions', () => {
  it('follow flexibility, with ApiVersions responses always on header v0 and ControlledShutdown v0 on header v0', () => {
    const produce = API_DEFINITIONS.get(ApiKey.Produce)!;
    expect([8, 9].map((v) => produce.requestHeaderVersion(v))).toEqual([1, 2]);
    expect([8, 9].map((v) => produce.responseHeaderVersion(v))).toEqual([0, 1]);
    const apiVersions = API_DEFINITIONS.get(ApiKey.ApiVersions)!;
    expect([0, 3, 4].map((v) => apiVersions.requestHeaderVersion(v))).toEqual([1, 2, 2]);
    expect([0, 3, 4].map((v) => apiVersions.responseHeaderVersion(v))).toEqual([0, 0, 0]);
    const shutdown = API_DEFINITIONS.get(ApiKey.ControlledShutdown)!;
    expect([0, 1, 3].map((v) => shutdown.requestHeaderVersion(v))).toEqual([0, 1, 2]);
    const offsetDelete = API_DEFINITIONS.get(ApiKey.OffsetDelete)!;
    expect(offsetDelete.flexibleMinVersion).toBe(-1);
    expect(offsetDelete.requestHeaderVersion(0)).toBe(1);
  });
});

describe('hostile input', () => {
  it('rejects an int32 array length of 2^31-1 before allocating', () => {
    // metadata v0: topics array length 0x7fffffff followed by nothing
    expect(() => decodeMetadataRequest(new Reader(hex('7fffffff')), 0)).toThrow(/cannot fit/);
    expect(() => decodeMetadataRequest(new Reader(hex('7fffffff 0001 74')), 0)).toThrow(DecodeError);
  });

  it('rejects a compact array length larger than what is left', () => {
    // produce v9: transactional id null, acks, timeout, topics length uvarint 0xffffffff
    expect(() => decodeProduceRequest(new Reader(hex('00 ffff 000003e8 ffffffff0f')), 9)).toThrow(/cannot fit/);
  });

  it('rejects string and bytes lengths larger than what is left', () => {
    expect(() => decodeMetadataRequest(new Reader(hex('00000001 7fff 7474')), 0)).toThrow(DecodeError);
    // produce v3: txn id null, acks, timeout, 1 topic 'a', 1 partition, records of 0x7fffffff bytes
    const produce = hex('ffff 0001 00000000 00000001 000161 00000001 00000000 7fffffff 00');
    expect(() => decodeProduceRequest(new Reader(produce), 3)).toThrow(DecodeError);
  });

  it('rejects a null array where the version does not allow one', () => {
    expect(() => decodeMetadataRequest(new Reader(hex('ffffffff')), 0)).toThrow(DecodeError);
    expect(decodeMetadataRequest(new Reader(hex('ffffffff')), 1).topics).toBeNull();
  });

  it('skips unknown tagged fields and rejects a tagged field larger than what is left', () => {
    // ApiVersionsRequest v3: 'x', '1', then 1 tagged field: tag 99, 2 bytes
    const withUnknown = decodeApiVersionsRequest(new Reader(hex('0278 0231 01 63 02 abcd')), 3);
    expect(withUnknown).toEqual({ clientSoftwareName: 'x', clientSoftwareVersion: '1' });
    expect(() => decodeApiVersionsRequest(new Reader(hex('0278 0231 01 63 7f abcd')), 3)).toThrow(DecodeError);
  });

  it('rejects a known tagged field that overruns its declared size', () => {
    const partition = bytesOf((w) =>
      encodeFetchResponsePartitionData(
        w,
        createFetchResponsePartitionData({ currentLeader: createFetchResponseLeaderIdAndEpoch({ leaderId: 1 }) }),
        12,
      ),
    );
    // shrink the tagged field's size byte from 09 to 04
    const broken = partition.replace(/0101090000000/, '0101040000000');
    expect(broken).not.toBe(partition);
    const body = (p: string): Buffer => hex('00000000' + '0000' + '00000000' + '02' + '0278' + '02' + p + '00' + '00');
    expect(decodeFetchResponse(new Reader(body(partition)), 12).responses[0]!.partitions[0]!.currentLeader.leaderId).toBe(1);
    expect(() => decodeFetchResponse(new Reader(body(broken)), 12)).toThrow(/overran/);
  });
});

describe('encoding choices', () => {
  it('ignores a field the version does not have', () => {
    const a = createProduceRequest({ transactionalId: 'txn', acks: 1, timeoutMs: 5 });
    const b = createProduceRequest({ transactionalId: null, acks: 1, timeoutMs: 5 });
    expect(bytesOf((w) => encodeProduceRequest(w, a, 0))).toBe(bytesOf((w) => encodeProduceRequest(w, b, 0)));
  });

  it('writes a null array as empty in a version where it cannot be null', () => {
    expect(bytesOf((w) => encodeMetadataRequest(w, createMetadataRequest({ topics: null }), 0))).toBe('00000000');
    expect(bytesOf((w) => encodeMetadataRequest(w, createMetadataRequest({ topics: null }), 1))).toBe('ffffffff');
  });
});

describe('records fields', () => {
  it('encode a list of stored batches without copying and decode as a view of the frame', () => {
    const a = Buffer.alloc(1000, 1);
    const b = Buffer.alloc(600, 2);
    const msg = createFetchResponse({
      responses: [{ topic: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [createFetchResponsePartitionData({ records: [a, b] })] }],
    });
    const w = new Writer(64);
    encodeFetchResponse(w, msg, 11);
    const chunks = w.toChunks();
    expect(chunks).toContain(a);
    expect(chunks).toContain(b);
    const frame = Buffer.concat(chunks);
    const decoded = decodeFetchResponse(new Reader(frame), 11);
    const records = decoded.responses[0]!.partitions[0]!.records as Buffer;
    expect(records.equals(Buffer.concat([a, b]))).toBe(true);
    expect(records.buffer).toBe(frame.buffer);
  });
});

describe('int64', () => {
  it('writes every range as writeBigInt64BE does, the safe-integer fast path and the BigInt one', () => {
    const values = [0n, 1n, -1n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), -(2n ** 32n) - 1n, 1_733_472_000_000n, -123_456_789_012n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
    const w = new Writer(8);
    for (const v of values) w.int64(v);
    const expected = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => expected.writeBigInt64BE(v, 8 * i));
    expect(w.toBuffer()).toEqual(expected);
  });
});

describe('frames', () => {
  it('encode and decode request and response frames with size prefix and headers', () => {
    const req = encodeRequestFrame(ApiKey.Metadata, 12, 42, 'client', createMetadataRequest({ topics: null }));
    expect(req.readInt32BE(0)).toBe(req.length - 4);
    const { header, api, body } = decodeRequestFrame(req);
    expect(header).toEqual({ requestApiKey: 3, requestApiVersion: 12, correlationId: 42, clientId: 'client' });
    expect(api.name).toBe('Metadata');
    expect(body).toEqual(createMetadataRequest({ topics: null }));

    const resp = createApiVersionsResponse({ apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] });
    const frame = encodeResponseFrame(ApiKey.ApiVersions, 4, 42, resp);
    // response header v0: size, correlation id, then the body's error code (no header tag buffer)
    expect(frame.subarray(4, 10).toString('hex')).toBe('0000002a' + '0000');
    expect(decodeResponseFrame(ApiKey.ApiVersions, 4, frame)).toEqual({ correlationId: 42, body: resp });
  });

  it('reject a wrong size prefix, trailing bytes and unknown API keys with DecodeError', () => {
    const frame = encodeResponseFrame(ApiKey.ApiVersions, 0, 1, createApiVersionsResponse());
    const longer = Buffer.concat([frame, hex('00')]);
    expect(() => decodeResponseFrame(ApiKey.ApiVersions, 0, longer)).toThrow(DecodeError);
    longer.writeInt32BE(longer.length - 4, 0);
    expect(() => decodeResponseFrame(ApiKey.ApiVersions, 0, longer)).toThrow(/left after/);
    expect(() => decodeRequestFrame(hex('00000008 03e7 0000 00000001'))).toThrow(/unknown api key 999/);
    expect(() => decodeRequestFrame(hex('00000008 0012 0063 00000001'))).toThrow(/no version 99/);
  });
});
