import type { BrokerEndpoint } from '../handler-types.js';

/**
 * replica.selector.class (KIP-392) with shared storage: every live broker is a replica of
 * every partition and is as caught up as the leader (it reads MySQL), so Kafka's
 * RackAwareReplicaSelector comes down to: a consumer that names its rack (client.rack, Fetch
 * v11+ rack_id) is sent to a broker in that rack, the leader if it is one; with several
 * brokers in that rack, the partitions are spread over them (by partition number, so one
 * consumer's partitions use all of them); with none, or without a rack, the leader serves.
 * Kafka's default (no class set) never names a preferred read replica.
 */

const RACK_AWARE = new Set(['org.apache.kafka.common.replica.RackAwareReplicaSelector', 'RackAwareReplicaSelector']);
const LEADER = new Set(['org.apache.kafka.common.replica.LeaderSelector', 'LeaderSelector']);

export type ReplicaSelector = 'rack-aware' | 'leader' | null;

/** The selector a replica.selector.class value names; throws for one this broker does not have. */
export function parseReplicaSelector(value: string | null): ReplicaSelector {
  if (value === null || value.trim() === '') return null;
  if (RACK_AWARE.has(value.trim())) return 'rack-aware';
  if (LEADER.has(value.trim())) return 'leader';
  throw new Error(`replica.selector.class '${value}' is not available: use org.apache.kafka.common.replica.RackAwareReplicaSelector (or leave it unset)`);
}

/** The broker id to name as preferred read replica, or -1 when the leader itself should serve. */
export function preferredReadReplica(
  selector: ReplicaSelector,
  clientRack: string,
  leaderId: number,
  replicas: readonly BrokerEndpoint[],
  partition: number,
): number {
  if (selector !== 'rack-aware' || clientRack === '') return -1;
  const sameRack = replicas.filter((b) => b.rack === clientRack).sort((a, b) => a.nodeId - b.nodeId);
  if (sameRack.length === 0 || sameRack.some((b) => b.nodeId === leaderId)) return -1;
  return sameRack[partition % sameRack.length]!.nodeId;
}
