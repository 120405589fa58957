import { formatMysqlUrl, parseMysqlUrl, redactUrl } from '../mysql.js';

/**
 * A shard's servers, from its configured URL: the URL names the primary, and each
 * `replica=host:port` parameter (repeatable) a replica reached with the same user, password
 * and database (replicas hold a copy of the primary's databases, so the names are the same).
 *
 *   mysql://kafka:secret@db1:3306/kafka?replica=db2:3306&replica=db3:3306
 *
 * The parameter keeps mysql.shards a plain comma-separated list of URLs.
 */
export interface ShardServers {
  /** The primary's URL, without replica parameters. */
  primary: string;
  /** One URL per replica, in the configured order. */
  replicas: string[];
}

export function parseShardServers(url: string): ShardServers {
  const loc = parseMysqlUrl(url);
  const u = new URL(url);
  const replicas = u.searchParams.getAll('replica').map((hp) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hp.trim());
    const port = m?.[2] === undefined ? 3306 : Number(m[2]);
    if (!m || !(port > 0 && port < 65536)) throw new Error(`invalid replica '${hp}' in MySQL URL ${redactUrl(url)} (expected host:port)`);
    // The replica is reached over TCP even when the primary is reached through a socket.
    const { socketPath: _socket, ...rest } = loc;
    return formatMysqlUrl({ ...rest, host: m[1]!.replace(/^\[|\]$/g, ''), port });
  });
  return { primary: formatMysqlUrl(loc), replicas };
}

/** host:port of a URL (for status output and logs: no credentials). */
export function serverAddress(url: string): string {
  const l = parseMysqlUrl(url);
  return l.socketPath ?? `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}
