import { findRunningManagedMariadb } from '../../storage/managed-mariadb.js';
import { rejoinAsReplica, RejoinRefused } from '../../storage/replication/rejoin.js';
import { configuredServerGroups, readServerStatus, transactionsBehind, urlAt, type ServerStatus } from '../../storage/replication/status.js';
import { serverAddress } from '../../storage/replication/topology.js';
import type { BrokerConfig } from '../config/index.js';
import { CommandError, parseArgs, parseInteger, UsageError, type ParsedArgs } from './args.js';
import { configFrom, output, table } from './common.js';

/**
 * `kafka-mysql shards status|rejoin` (docs/operations.md, "Shards with replicas"): works on the
 * MySQL servers directly, named by mysql.url and mysql.shards with their replica= parameters,
 * and asks the broker's HTTP listener (/health, metrics.listener or --broker-http) which server
 * it writes to, since after a failover that is no longer the configured primary.
 *
 * status: every server of every group (configured, or named by the broker as primary, replica
 * or fenced), each with the role it has by its own account (replicating: replica; writable and
 * not replicating: primary; read-only and not replicating: fenced or stopped), read_only,
 * GTID positions, lag (Seconds_Behind_Master and transactions behind the primary), semi-sync
 * state and counters, and warnings when the views disagree (two writable servers, the broker
 * writing elsewhere than the writable server, a configured primary that is not one any more).
 *
 * rejoin: storage/replication/rejoin.ts, refused with the diverged GTIDs and the way out.
 */
export const SHARDS_USAGE = `shards status [--broker-http [https://]HOST:PORT]
        each shard's primary and replicas: reachability, read_only, lag, GTIDs, semi-sync state,
        and which server the broker writes to
  shards rejoin --shard N|metadata --host HOST:PORT [--wait-ms MS]
        make a former primary a replica of the current primary (refused if its history diverged)`;

interface BrokerView {
  address: string | null;
  reachable: boolean;
  error: string | null;
  groups: Array<{ name: string; shards: number[]; epoch: number; primary: string; replicas: string[]; fenced: string[] }>;
}

type ServerRow = ServerStatus & {
  /** What the broker's shard map calls it (null: the broker did not answer, or does not know it). */
  brokerRole: 'primary' | 'replica' | 'fenced' | null;
  configuredRole: 'primary' | 'replica' | null;
  /** Transactions the primary has and this replica has not applied yet. */
  behindTransactions: number | null;
};

export interface GroupReport {
  name: string;
  shards: number[];
  configuredPrimary: string;
  brokerPrimary: string | null;
  epoch: number | null;
  /** The one writable server that does not replicate (null when none or several). */
  primary: string | null;
  servers: ServerRow[];
  warnings: string[];
}

export async function shardsCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const usage = `usage: kafka-mysql ${SHARDS_USAGE}`;
  if (sub === 'status') {
    const args = parseArgs(rest, { values: ['--broker-http'] });
    const { report } = await shardsReport(args);
    output(args, report, () => formatReport(report));
    return;
  }
  if (sub === 'rejoin') {
    const args = parseArgs(rest, { values: ['--broker-http', '--shard', '--host', '--wait-ms'] });
    const shardArg = args.need('--shard');
    const host = args.need('--host');
    if (!/^(\[[^\]]+\]|[^:]+):\d+$/.test(host)) throw new UsageError(`--host expects HOST:PORT, got '${host}'`);
    const waitMs = args.get('--wait-ms') === undefined ? 30_000 : parseInteger(args.get('--wait-ms')!, '--wait-ms');
    const { report, urlOf } = await shardsReport(args);
    const group =
      shardArg === 'metadata'
        ? report.groups.find((g) => g.name === 'metadata database')
        : report.groups.find((g) => g.shards.includes(parseInteger(shardArg, '--shard')));
    if (!group) throw new UsageError(`no shard ${shardArg} in mysql.url / mysql.shards`);
    const primary = currentPrimary(group);
    const configuredUrl = urlOf(group.name);
    try {
      const result = await rejoinAsReplica(urlAt(configuredUrl, host), urlAt(configuredUrl, primary), { waitMs });
      const json = { shard: shardArg, group: group.name, ...result };
      output(args, json, () =>
        [
          result.alreadyReplica
            ? `${result.server} already replicates from ${result.primary} (read_only set)`
            : `${result.server} is now a replica of ${result.primary} (read_only, semi-sync replica, GTID slave_pos)`,
          result.caughtUp ? 'caught up with the primary' : `${result.behind} transactions still to apply (Seconds_Behind_Master ${result.secondsBehindMaster ?? '-'})`,
          `name it as a replica (replica=${result.server}) of ${result.primary} in mysql.url / mysql.shards: a running broker promotes it only after a restart with that configuration`,
        ].join('\n'),
      );
    } catch (err) {
      if (err instanceof RejoinRefused) throw new CommandError(`rejoin refused: ${err.message}`);
      throw new CommandError((err as Error).message);
    }
    return;
  }
  throw new UsageError(`unknown shards command '${sub ?? ''}'\n${usage}`);
}

/** The server rejoin points at: the broker's primary when it answered, else the one writable server. */
function currentPrimary(g: GroupReport): string {
  if (g.brokerPrimary !== null) {
    if (g.primary !== null && g.primary !== g.brokerPrimary) {
      throw new CommandError(`${g.name}: the broker writes to ${g.brokerPrimary} but the writable server is ${g.primary}; resolve that first (kafka-mysql shards status)`);
    }
    return g.brokerPrimary;
  }
  if (g.primary === null) throw new CommandError(`${g.name}: no single writable primary among ${g.servers.map((s) => s.address).join(', ')} (kafka-mysql shards status)`);
  return g.primary;
}

/** The report (no credentials in it), and each group's configured URL (user, password, database) to reach its servers. */
export async function shardsReport(args: ParsedArgs): Promise<{ report: { broker: BrokerView; groups: GroupReport[] }; urlOf(group: string): string }> {
  const config = configFrom(args);
  const metadataUrl = config.mysqlUrl ?? (await findRunningManagedMariadb(config.mysqlDataDir));
  if (!metadataUrl) {
    throw new UsageError(`shards needs mysql.url (--config FILE, KAFKA_MYSQL_URL or --set mysql.url=...), or a broker running its managed MariaDB under mysql.data.dir`);
  }
  const configured = configuredServerGroups(metadataUrl, config.mysqlShards.length > 0 ? config.mysqlShards : [metadataUrl]);
  const broker = await brokerView(args, config);
  const groups = await Promise.all(
    configured.map(async (c): Promise<GroupReport> => {
      const b = broker.groups.find((x) => x.name === c.name);
      const addresses = [...new Set([serverAddress(c.primary), ...c.replicas.map(serverAddress), ...(b ? [b.primary, ...b.replicas, ...b.fenced] : [])])];
      const statuses = await Promise.all(addresses.map((a) => readServerStatus(urlAt(c.primary, a))));
      const writable = statuses.filter((s) => s.role === 'primary');
      const primary = writable.length === 1 ? writable[0]! : null;
      const servers: ServerRow[] = statuses.map((s) => ({
        ...s,
        brokerRole: !b ? null : b.primary === s.address ? 'primary' : b.replicas.includes(s.address) ? 'replica' : b.fenced.includes(s.address) ? 'fenced' : null,
        configuredRole: serverAddress(c.primary) === s.address ? 'primary' : c.replicas.some((r) => serverAddress(r) === s.address) ? 'replica' : null,
        behindTransactions: s.role === 'replica' && primary ? transactionsBehind(primary.gtidBinlogPos, s.gtidSlavePos) : null,
      }));
      const warnings: string[] = [];
      if (writable.length === 0) warnings.push('no writable primary: produce to these shards gets retriable errors until a replica is promoted');
      if (writable.length > 1) warnings.push(`several writable servers that do not replicate: ${writable.map((s) => s.address).join(', ')} (set read_only on all but the broker's primary)`);
      if (b && primary && b.primary !== primary.address) warnings.push(`the broker writes to ${b.primary}, but the writable server is ${primary.address}`);
      if (b && b.primary !== serverAddress(c.primary)) {
        warnings.push(`mysql.url / mysql.shards still name ${serverAddress(c.primary)} as primary; the broker moved to ${b.primary}: update the configuration before the next start`);
      }
      for (const s of servers) {
        if (s.role === 'replica' && primary && !sameEndpoint(s.replication!.source, primary.address)) warnings.push(`${s.address} replicates from ${s.replication!.source}, not from the primary ${primary.address}`);
        if (s.role === 'replica' && (s.replication!.ioRunning !== 'Yes' || s.replication!.sqlRunning !== 'Yes')) {
          warnings.push(`${s.address}: replication threads IO ${s.replication!.ioRunning}, SQL ${s.replication!.sqlRunning}${s.replication!.lastError ? `: ${s.replication!.lastError}` : ''}`);
        }
        if (s.role === 'read-only' && s.address !== primary?.address) warnings.push(`${s.address} is read-only and not replicating (a fenced old primary?): kafka-mysql shards rejoin --shard ${c.shards[0] ?? 'metadata'} --host ${s.address}`);
        if (!s.reachable && (s.configuredRole !== null || s.brokerRole !== null)) warnings.push(`${s.address} does not answer: ${s.error}`);
      }
      if (primary && c.replicas.length > 0 && primary.semiSync.clients === 0) warnings.push(`no replica is connected to ${primary.address} as a semi-sync client: nothing acknowledges its commits`);
      if (primary && c.replicas.length > 0 && primary.semiSync.masterStatus !== 'ON') warnings.push(`semi-sync is ${primary.semiSync.masterStatus ?? 'unknown'} on ${primary.address}: acks=-1 with min.insync.replicas>1 is refused (NOT_ENOUGH_REPLICAS) until a replica acknowledges`);
      return {
        name: c.name, shards: c.shards, configuredPrimary: serverAddress(c.primary), brokerPrimary: b?.primary ?? null, epoch: b?.epoch ?? null,
        primary: primary?.address ?? null, servers, warnings,
      };
    }),
  );
  return { report: { broker, groups }, urlOf: (name) => configured.find((c) => c.name === name)!.primary };
}

function sameEndpoint(a: string, b: string): boolean {
  const norm = (x: string) => x.replace(/^localhost:/, '127.0.0.1:');
  return norm(a) === norm(b);
}

/** The broker's shard map from its /health (metrics.listener), if it answers within 3 s. */
async function brokerView(args: ParsedArgs, config: BrokerConfig): Promise<BrokerView> {
  const explicit = args.get('--broker-http');
  const l = config.metricsListener;
  const address = explicit ?? (l ? `${config.metricsListenerTls ? 'https://' : ''}${l.host === '0.0.0.0' ? '127.0.0.1' : l.host}:${l.port}` : null);
  if (address === null) return { address: null, reachable: false, error: 'metrics.listener is empty: the broker has no HTTP listener to ask', groups: [] };
  try {
    // An https:// listener's certificate is checked against Node's CAs (NODE_EXTRA_CA_CERTS for a private CA).
    const res = await fetch(`${/^https?:\/\//.test(address) ? address : `http://${address}`}/health`, { signal: AbortSignal.timeout(3000) });
    const body = (await res.json()) as { mysqlServers?: BrokerView['groups'] };
    if (!Array.isArray(body.mysqlServers)) return { address, reachable: true, error: 'the broker does not report its shard map (older version)', groups: [] };
    return { address, reachable: true, error: null, groups: body.mysqlServers };
  } catch (err) {
    return { address, reachable: false, error: (err as Error).message, groups: [] };
  }
}

function formatReport(report: { broker: BrokerView; groups: GroupReport[] }): string {
  const out: string[] = [];
  out.push(report.broker.reachable ? `broker ${report.broker.address}: answered` : `broker ${report.broker.address ?? '-'}: not asked or no answer (${report.broker.error}); roles below are the servers' own`);
  for (const g of report.groups) {
    out.push('');
    out.push(
      `${g.name.toUpperCase()} (shards ${g.shards.length > 0 ? g.shards.join(',') : '-'})  PRIMARY ${g.primary ?? 'none'}` +
        (g.brokerPrimary !== null ? `  BROKER WRITES TO ${g.brokerPrimary} (epoch ${g.epoch})` : ''),
    );
    out.push(
      table(
        ['SERVER', 'ROLE', 'BROKER', 'READ_ONLY', 'LAG_S', 'BEHIND_TX', 'GTID_BINLOG_POS', 'SEMI_SYNC'],
        g.servers.map((s) => [
          s.address,
          s.role,
          s.brokerRole,
          s.readOnly === null ? null : s.readOnly ? 'yes' : 'no',
          s.replication?.secondsBehindMaster,
          s.behindTransactions,
          s.gtidBinlogPos || (s.reachable ? '(empty)' : null),
          !s.reachable
            ? s.error
            : s.role === 'replica'
              ? `replica ${s.semiSync.slaveStatus ?? '-'} (IO ${s.replication!.ioRunning}, SQL ${s.replication!.sqlRunning})`
              : `${s.semiSync.masterStatus ?? '-'} clients ${s.semiSync.clients ?? '-'} yes_tx ${s.semiSync.yesTx ?? '-'} no_tx ${s.semiSync.noTx ?? '-'} waits ${s.semiSync.txWaits ?? '-'} waiting ${s.semiSync.waitSessions ?? '-'}`,
        ]),
      ),
    );
    for (const w of g.warnings) out.push(`  warning: ${w}`);
  }
  return out.join('\n');
}
