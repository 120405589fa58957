import type { BrokerEndpoint, ClusterView } from '../handler-types.js';

/**
 * The cluster when one broker runs alone (no ZooKeeper): it is the controller, leads every
 * partition and coordinates every group. Leader epoch 0 until leadership can move.
 */
export class SingleBrokerCluster implements ClusterView {
  constructor(
    readonly clusterId: string,
    readonly self: BrokerEndpoint,
  ) {}

  brokers(): BrokerEndpoint[] {
    return [this.self];
  }
  controllerId(): number {
    return this.self.nodeId;
  }
  leaderOf(): number {
    return this.self.nodeId;
  }
  leaderEpochOf(): number {
    return 0;
  }
  coordinatorFor(): BrokerEndpoint {
    return this.self;
  }
}
