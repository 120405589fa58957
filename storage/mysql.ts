import mysql from 'mysql2/promise';
import type { Pool, PoolOptions } from 'mysql2/promise';
import { connectMysqlSocket, type SocketWatch } from './mysql-socket.js';

/**
 * MySQL connection URLs and pools.
 *
 * URL form: `mysql://user:password@host:port/database?socket=/path/to/socket&connectionLimit=20`
 * (user, password and database are percent-decoded; port defaults to 3306; `socket` makes the
 * pool connect through a Unix socket instead of TCP).
 */
export interface MysqlLocation {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  socketPath?: string;
  /** Pool size from `?connectionLimit=`; undefined = caller's default. */
  connectionLimit?: number;
}

export function parseMysqlUrl(url: string): MysqlLocation {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid MySQL URL: ${redactUrl(url)}`);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new Error(`invalid MySQL URL (expected mysql://): ${redactUrl(url)}`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const loc: MysqlLocation = {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database,
  };
  const socket = u.searchParams.get('socket');
  if (socket) loc.socketPath = socket;
  const limit = u.searchParams.get('connectionLimit');
  if (limit) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new Error(`invalid connectionLimit in MySQL URL: ${limit}`);
    loc.connectionLimit = n;
  }
  return loc;
}

/** Builds a URL from a location (the inverse of parseMysqlUrl). */
export function formatMysqlUrl(loc: MysqlLocation): string {
  const auth = loc.password
    ? `${encodeURIComponent(loc.user)}:${encodeURIComponent(loc.password)}`
    : encodeURIComponent(loc.user);
  const host = loc.host.includes(':') ? `[${loc.host}]` : loc.host;
  const params = new URLSearchParams();
  if (loc.socketPath) params.set('socket', loc.socketPath);
  if (loc.connectionLimit !== undefined) params.set('connectionLimit', String(loc.connectionLimit));
  const query = params.toString();
  return `mysql://${auth}@${host}:${loc.port}/${encodeURIComponent(loc.database)}${query ? `?${query}` : ''}`;
}

/** The same server with another database. */
export function withDatabase(url: string, database: string): string {
  return formatMysqlUrl({ ...parseMysqlUrl(url), database });
}

/** The URL with its password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

/**
 * Connection options shared by every pool and one-off connection; `watch` bounds the wait for
 * replies and tracks the sockets (storage/mysql-socket.ts).
 */
export function connectionOptions(loc: MysqlLocation, watch?: SocketWatch): PoolOptions {
  const opts: PoolOptions = {
    user: loc.user,
    password: loc.password,
    database: loc.database || undefined,
    // BIGINT columns come back as strings when they exceed 2^53; we convert to bigint ourselves.
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    charset: 'utf8mb4',
    connectTimeout: 10_000,
    multipleStatements: false,
  };
  if (loc.socketPath) opts.socketPath = loc.socketPath;
  else {
    opts.host = loc.host;
    opts.port = loc.port;
  }
  // Reads in place: whole packets handed to mysql2, record batches parsed without a copy.
  opts.stream = () => connectMysqlSocket(loc, KEEP_ALIVE_INITIAL_DELAY_MS, watch);
  return opts;
}

const KEEP_ALIVE_INITIAL_DELAY_MS = 10_000;

export interface CreatePoolOptions {
  connectionLimit?: number;
  /** A query whose reply has not begun after this long fails and its connection is destroyed (0 or unset: no bound). */
  queryTimeoutMs?: number;
  /** Filled with the pool's open sockets (a failover swap destroys them). */
  sockets?: SocketWatch['sockets'];
}

export function createPool(url: string, options: CreatePoolOptions = {}): Pool {
  const loc = parseMysqlUrl(url);
  return mysql.createPool({
    ...connectionOptions(loc, { replyTimeoutMs: options.queryTimeoutMs, sockets: options.sockets }),
    connectionLimit: loc.connectionLimit ?? options.connectionLimit ?? 10,
    waitForConnections: true,
    queueLimit: 0,
    enableKeepAlive: true,
    keepAliveInitialDelay: KEEP_ALIVE_INITIAL_DELAY_MS,
    maxIdle: loc.connectionLimit ?? options.connectionLimit ?? 10,
    idleTimeout: 60_000,
  });
}

/** One connection without a pool (migrations, test helpers, readiness probes). */
export async function connect(url: string): Promise<mysql.Connection> {
  return mysql.createConnection(connectionOptions(parseMysqlUrl(url)));
}

/** Backquotes an identifier (table or database name). */
export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/** MySQL returns BIGINT as string or number depending on size; normalise to bigint. */
export function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  if (typeof value === 'string') return BigInt(value);
  if (value === null || value === undefined) throw new Error('unexpected NULL where a number was expected');
  throw new Error(`unexpected numeric value ${String(value)}`);
}
