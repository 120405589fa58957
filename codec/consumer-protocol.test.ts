import { AssignerProtocol } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { decodeAssignment, decodeSubscription } from './consumer-protocol.js';
import { createConsumerProtocolSubscription, encodeConsumerProtocolSubscription } from './generated/consumer-protocol.js';
import { Writer } from './primitives/writer.js';

describe('consumer protocol', () => {
  it('decodes an assignment as the kafkajs consumer writes it (version 0)', () => {
    const bytes = AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { orders: [0, 2], audit: [1] }, userData: Buffer.from('ud') });
    const decoded = decodeAssignment(bytes);
    expect(decoded?.assignedPartitions).toEqual([
      { topic: 'orders', partitions: [0, 2] },
      { topic: 'audit', partitions: [1] },
    ]);
    expect(decoded?.userData).toEqual(Buffer.from('ud'));
  });

  it('decodes a subscription as the kafkajs consumer writes it (version 0)', () => {
    const bytes = AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['orders', 'audit'], userData: Buffer.alloc(0) });
    expect(decodeSubscription(bytes)?.topics).toEqual(['orders', 'audit']);
  });

  it('reads a version above 3 as version 3', () => {
    const w = new Writer();
    w.int16(9);
    encodeConsumerProtocolSubscription(w, createConsumerProtocolSubscription({ topics: ['t'], generationId: 4, rackId: 'r1' }), 3);
    expect(decodeSubscription(w.toBuffer())).toMatchObject({ topics: ['t'], generationId: 4, rackId: 'r1' });
  });

  it('gives null for bytes that are not the consumer protocol', () => {
    expect(decodeAssignment(Buffer.alloc(0))).toBeNull();
    expect(decodeAssignment(Buffer.from([0xff, 0xff, 0, 0, 0, 0]))).toBeNull();
    expect(decodeAssignment(Buffer.from('{"connect":"json"}'))).toBeNull();
    expect(decodeSubscription(Buffer.from([0, 1, 0, 0, 0, 9, 0, 1]))).toBeNull();
  });
});
