import { readFileSync } from 'node:fs';
import { KafkaAdmin } from '../../client/admin.js';
import { SaslAuthenticationError } from '../../client/sasl.js';
import { ClientConfigError, clientSecurityFrom, type ClientSecurity } from '../../client/security.js';
import type { BrokerAddress } from '../../client/cluster.js';
import { loadConfig, parseProperties, type BrokerConfig } from '../config/index.js';
import { CommandError, parsePairs, type ParsedArgs, UsageError } from './args.js';

/**
 * What every CLI command shares: configuration loading (the same as `start`: --config FILE,
 * KAFKA_MYSQL_* environment, --set KEY=VALUE), the bootstrap server (--bootstrap-server, else
 * the configured advertised listener), an admin client (client/admin.ts), and output (text or --json).
 */
export function configFrom(args: ParsedArgs): BrokerConfig {
  return loadConfig({ file: args.get('--config') ?? null, overrides: parsePairs(args.all('--set'), '--set') });
}

export function bootstrapFrom(args: ParsedArgs): string {
  const explicit = args.get('--bootstrap-server');
  if (explicit) return explicit;
  const config = configFrom(args);
  const host = config.advertised.host === '0.0.0.0' ? '127.0.0.1' : config.advertised.host;
  return `${host}:${config.advertised.port}`;
}

/** `HOST:PORT[,HOST:PORT...]` into addresses; UsageError when one is malformed. */
export function bootstrapAddresses(bootstrap: string): BrokerAddress[] {
  const entries = bootstrap
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new UsageError(`bad --bootstrap-server '${bootstrap}' (expected HOST:PORT)`);
  return entries.map((entry) => {
    const at = entry.lastIndexOf(':');
    const port = Number(entry.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`bad --bootstrap-server '${bootstrap}' (expected HOST:PORT)`);
    return { host: entry.slice(0, at).replace(/^\[|\]$/g, ''), port };
  });
}

/** Runs `fn` with a connected admin client, always closing it. */
export async function withAdmin<T>(args: ParsedArgs, fn: (admin: KafkaAdmin) => Promise<T>, options: { requestTimeoutMs?: number } = {}): Promise<T> {
  const bootstrap = bootstrapFrom(args);
  let admin: KafkaAdmin;
  try {
    admin = await KafkaAdmin.connect({
      bootstrap: bootstrapAddresses(bootstrap),
      clientId: 'kafka-mysql-cli',
      connectTimeoutMs: 5000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      security: securityFrom(args),
    });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (err instanceof SaslAuthenticationError) throw new CommandError(`authentication failed: ${err.message}`);
    throw new ConnectError(`cannot connect to ${bootstrap}: ${(err as Error).message}`);
  }
  try {
    return await fn(admin);
  } finally {
    admin.close();
  }
}

/**
 * TLS and SASL from `--command-config FILE`, Kafka client properties as Kafka's tools take them
 * (client/security.ts says which keys are read); none: plaintext without SASL.
 */
function securityFrom(args: ParsedArgs): ClientSecurity | undefined {
  const file = args.get('--command-config');
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--command-config: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return clientSecurityFrom(parseProperties(text));
  } catch (err) {
    if (err instanceof ClientConfigError) throw new UsageError(`--command-config ${file}: ${err.message}`);
    throw err;
  }
}

export class ConnectError extends Error {
  override name = 'ConnectError';
}

/** Writes JSON (with bigints as strings) or the text form. */
export function output(args: ParsedArgs, json: unknown, text: () => string): void {
  if (args.has('--json')) process.stdout.write(JSON.stringify(json, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  else {
    const t = text();
    if (t.length > 0) process.stdout.write(t.endsWith('\n') ? t : t + '\n');
  }
}

/** A plain aligned table. */
export function table(headers: string[], rows: Array<Array<string | number | bigint | null | undefined>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Kafka errors (client/errors.ts) carry `type` (e.g. INVALID_PARTITIONS); show it with the message. */
export function describeKafkaError(err: unknown): string {
  const e = err as { type?: string; message?: string };
  const base = e.type && e.message && !e.message.includes(e.type) ? `${e.type}: ${e.message}` : (e.message ?? String(err));
  return base;
}
