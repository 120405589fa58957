import type { Logger } from 'pino';
import { formatMysqlUrl, parseMysqlUrl } from '../mysql.js';
import type { ResolvedStorageOptions } from '../options.js';
import { serverAddress } from './topology.js';

/** A server group's primary as the brokers agreed on it (ZooKeeper's shard record): host:port at a shard epoch. */
export interface PublishedPrimary {
  primary: string;
  epoch: number;
}

/** Where a server group starts: its shard epoch and the old primaries promoted away from. */
export interface GroupStart {
  epoch: number;
  fenced: string[];
}

/**
 * A broker (re)started after a failover with the old primary still in mysql.url / mysql.shards:
 * the published primary replaces it before anything connects (migrations, the start-up check,
 * the pools), and the configured one becomes a fenced old primary (set read-only when it answers,
 * a replica again once it replicates from the new primary: storage/replication/failover.ts).
 * Groups are named as the shard map names them (`metadata database`, then `shard N` for the first
 * shard on another server). Returns the options to open with, and each group's start by the
 * address of its (new) primary.
 */
export function followPublishedPrimaries(
  o: ResolvedStorageOptions,
  published: ((group: string) => PublishedPrimary | null) | undefined,
  logger?: Logger,
): { options: ResolvedStorageOptions; start: Map<string, GroupStart> } {
  const start = new Map<string, GroupStart>();
  if (!published) return { options: o, start };
  const names = new Map<string, string>();
  for (const [i, url] of [o.metadataUrl, ...o.shardUrls].entries()) {
    const at = serverAddress(url);
    if (!names.has(at)) names.set(at, i === 0 ? 'metadata database' : `shard ${i - 1}`);
  }
  let metadataUrl = o.metadataUrl;
  let metadataReplicas = o.metadataReplicas;
  const shardUrls = [...o.shardUrls];
  const shardReplicas = o.shardReplicas.map((r) => [...r]);
  for (const [configured, name] of names) {
    const rec = published(name);
    if (!rec || rec.epoch <= 0) continue;
    if (rec.primary === configured) {
      start.set(configured, { epoch: rec.epoch, fenced: [] });
      continue;
    }
    const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(rec.primary);
    if (!m) {
      logger?.error({ group: name, published: rec.primary }, 'unreadable primary in the shard record ignored');
      continue;
    }
    // Same user, password and database names on the new primary, over TCP.
    const moved = (url: string) => {
      const { socketPath: _socket, ...loc } = parseMysqlUrl(url);
      return formatMysqlUrl({ ...loc, host: m[1]!, port: Number(m[2]) });
    };
    const others = (replicas: string[]) => replicas.filter((r) => serverAddress(r) !== rec.primary);
    const oldPrimary = serverAddress(metadataUrl) === configured ? metadataUrl : shardUrls.find((u) => serverAddress(u) === configured)!;
    if (serverAddress(metadataUrl) === configured) {
      metadataUrl = moved(metadataUrl);
      metadataReplicas = others(metadataReplicas);
    }
    for (let i = 0; i < shardUrls.length; i++) {
      if (serverAddress(shardUrls[i]!) !== configured) continue;
      shardUrls[i] = moved(shardUrls[i]!);
      shardReplicas[i] = others(shardReplicas[i] ?? []);
    }
    start.set(rec.primary, { epoch: rec.epoch, fenced: [oldPrimary] });
    logger?.warn(
      { group: name, configuredPrimary: configured, primary: rec.primary, epoch: rec.epoch },
      'mysql.url / mysql.shards are stale: ZooKeeper says a failover made another server the primary; using it, and the configured one as a fenced old primary (update the configuration, then kafka-mysql shards rejoin the old primary)',
    );
  }
  return { options: { ...o, metadataUrl, metadataReplicas, shardUrls, shardReplicas }, start };
}
