import { ErrorCode } from '../../codec/error-codes.js';
import { parseArgs, UsageError } from './args.js';
import { output, table, withAdmin } from './common.js';

/**
 * `kafka-mysql cluster status`: what a cluster of several brokers looks like from a client,
 * over client/admin.ts: the brokers and the controller (DescribeCluster), every partition's
 * leader and leader epoch (Metadata), and each consumer group's coordinator (the groups every
 * broker lists, then FindCoordinator for each). Works on a single broker too.
 */
export const CLUSTER_USAGE = `cluster status                             brokers, controller, partition leaders and group coordinators`;

export async function clusterCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const args = parseArgs(rest, {});
  if (sub !== 'status') throw new UsageError(`unknown cluster command '${sub ?? ''}'\nusage: kafka-mysql ${CLUSTER_USAGE}`);
  return withAdmin(args, async (admin) => {
    const cluster = await admin.describeCluster();
    const partitions = await admin.partitionLeaders();
    const groupIds = [...new Set((await admin.listGroups()).map((g) => g.groupId))].sort();
    const coordinators: Array<{ group: string; coordinator: number }> = [];
    for (const group of groupIds) coordinators.push({ group, coordinator: (await admin.findCoordinator(group)).nodeId });
    const leaderCounts = new Map<number, number>();
    for (const p of partitions) leaderCounts.set(p.leader, (leaderCounts.get(p.leader) ?? 0) + 1);
    const json = {
      clusterId: cluster.clusterId,
      controller: cluster.controllerId,
      brokers: cluster.brokers.map((b) => ({ ...b, leaderOf: leaderCounts.get(b.id) ?? 0, controller: b.id === cluster.controllerId })),
      partitions: partitions.map((p) => ({ topic: p.topic, partition: p.partition, leader: p.leader, leaderEpoch: p.leaderEpoch, error: p.errorCode === ErrorCode.NONE ? null : p.errorCode })),
      coordinators,
    };
    output(args, json, () => {
      const parts = [
        `CLUSTER ${cluster.clusterId}  CONTROLLER ${cluster.controllerId}  BROKERS ${cluster.brokers.length}`,
        table(
          ['BROKER', 'HOST', 'PORT', 'RACK', 'LEADS', 'CONTROLLER'],
          json.brokers.map((b) => [b.id, b.host, b.port, b.rack, b.leaderOf, b.controller ? 'yes' : '']),
        ),
        '',
        partitions.length === 0 ? '(no topics)' : table(['TOPIC', 'PARTITION', 'LEADER', 'EPOCH'], partitions.map((p) => [p.topic, p.partition, p.leader < 0 ? 'none' : p.leader, p.leaderEpoch])),
        '',
        coordinators.length === 0 ? '(no consumer groups)' : table(['GROUP', 'COORDINATOR'], coordinators.map((c) => [c.group, c.coordinator])),
      ];
      return parts.join('\n');
    });
  });
}
