import { describe, expect, it } from 'vitest';
import { parseReplicaSelector, preferredReadReplica } from './replica-selector.js';

const b = (nodeId: number, rack: string | null) => ({ nodeId, host: 'h', port: 1, rack });
const brokers = [b(1, 'a'), b(2, 'b'), b(3, 'c'), b(4, 'c')];

describe('replica selector', () => {
  it('parses the Kafka class names and refuses others', () => {
    expect(parseReplicaSelector(null)).toBeNull();
    expect(parseReplicaSelector('org.apache.kafka.common.replica.RackAwareReplicaSelector')).toBe('rack-aware');
    expect(parseReplicaSelector('org.apache.kafka.common.replica.LeaderSelector')).toBe('leader');
    expect(() => parseReplicaSelector('com.example.Mine')).toThrow(/not available/);
  });

  it('sends a consumer to a broker of its rack, the leader when it is in the rack, else nowhere', () => {
    expect(preferredReadReplica('rack-aware', 'b', 1, brokers, 0)).toBe(2);
    expect(preferredReadReplica('rack-aware', 'a', 1, brokers, 0)).toBe(-1); // the leader is in the rack
    expect(preferredReadReplica('rack-aware', 'z', 1, brokers, 0)).toBe(-1); // nobody in the rack
    expect(preferredReadReplica('rack-aware', '', 1, brokers, 0)).toBe(-1); // no client.rack
    expect(preferredReadReplica(null, 'b', 1, brokers, 0)).toBe(-1); // no selector configured
    expect(preferredReadReplica('leader', 'b', 1, brokers, 0)).toBe(-1);
    // Two brokers in rack c: partitions alternate between them.
    expect([0, 1, 2, 3].map((p) => preferredReadReplica('rack-aware', 'c', 1, brokers, p))).toEqual([3, 4, 3, 4]);
  });
});
