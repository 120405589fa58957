import type { ApiDefinition } from '../codec/api.js';
import { errorCodeOf, ErrorCode } from '../codec/error-codes.js';
import { decodeRequestHeader, encodeResponseHeader } from '../codec/generated/headers.js';
import { API_DEFINITIONS } from '../codec/generated/registry.js';
import { DecodeError } from '../codec/primitives/errors.js';
import { Reader } from '../codec/primitives/reader.js';
import { Writer } from '../codec/primitives/writer.js';
import type { Logger } from 'pino';
import type { ApiHandler, BrokerContext, RequestContext, ServedApi } from './handler-types.js';
import type { BoundCounter } from './metrics.js';
import type { FetchQuota } from './quotas/enforce.js';
import type { ConnectionSecurity } from './security/listener-security.js';
import type { KafkaPrincipal } from './security/principal.js';
import { ProtocolViolation, type Connection } from './net/connection.js';
import { ANONYMOUS } from './security/principal.js';
import { fetchQuota, recordQuotaUse } from './quotas/enforce.js';

export type { ServedApi } from './handler-types.js';

const API_VERSIONS_KEY = 18;
const FETCH_KEY = 1;

/** Handlers by API key (server/handlers/index.ts builds the broker's). */
export type HandlerRegistry = ReadonlyMap<number, ApiHandler>;

/** The APIs and versions of a registry, by API key: what ApiVersions advertises. */
export function servedApisOf(registry: HandlerRegistry): ServedApi[] {
  return [...registry.values()]
    .map((handler) => ({ apiKey: handler.apiKey, minVersion: handler.minVersion, maxVersion: handler.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
}

/** A served API, with its metric series (bound on first use: the per-request increments are then plain additions). */
interface Served {
  handler: ApiHandler;
  definition: ApiDefinition;
  /** kafka_mysql_requests_total, by version. */
  requests: (BoundCounter | undefined)[];
  /** kafka_mysql_request_duration_seconds. */
  seconds: { observe(value: number): void } | undefined;
}

/** A request's context: one object per request (the connection's state is read through it, not copied into closures). */
class Context implements RequestContext {
  readonly connectionId: number;
  readonly clientHost: string;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly principal: KafkaPrincipal;
  readonly security: ConnectionSecurity | undefined;
  fetchQuota?: FetchQuota;
  /** Time spent in park(): a Fetch's long poll is not request time for client quotas. */
  parkedMs = 0;

  constructor(
    readonly apiKey: number,
    readonly apiVersion: number,
    readonly correlationId: number,
    readonly clientId: string | null,
    private readonly connection: Connection,
    readonly frameOwned: boolean,
    readonly broker: BrokerContext,
  ) {
    this.connectionId = connection.id;
    this.clientHost = connection.remoteAddress;
    this.signal = connection.signal;
    this.logger = broker.logger;
    this.principal = connection.security?.principal ?? ANONYMOUS;
    this.security = connection.security ?? undefined;
  }

  clientGone(): boolean {
    return this.connection.isClosed;
  }

  async park<T>(wait: Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await this.connection.parked(wait);
    } finally {
      this.parkedMs += performance.now() - t;
    }
  }
}

function encodeResponse(definition: ApiDefinition, apiVersion: number, correlationId: number, response: unknown): Writer {
  const w = new Writer(256);
  const size = w.reserveInt32();
  encodeResponseHeader(w, { correlationId }, definition.responseHeaderVersion(apiVersion));
  definition.encodeResponse(w, response, apiVersion);
  w.patchInt32(size, w.length - 4);
  return w;
}

/**
 * Routes a request frame to its handler by (apiKey, apiVersion) and encodes the response.
 * The registry of handlers is also what ApiVersions advertises, so a version is advertised
 * exactly when a handler serves it. Unknown APIs and undecodable frames close the connection;
 * a handler that throws answers with its errorResponse (UNKNOWN_SERVER_ERROR unless the error
 * is a KafkaError), so the connection stays open.
 */
export class Dispatcher {
  private readonly handlers = new Map<number, Served>();
  private readonly served: ServedApi[];

  constructor(
    registry: HandlerRegistry,
    private readonly broker: BrokerContext,
  ) {
    for (const [apiKey, handler] of registry) {
      const definition = API_DEFINITIONS.get(apiKey);
      if (!definition) throw new Error(`no codec for API key ${apiKey}`);
      if (handler.apiKey !== apiKey) throw new Error(`${definition.name}: registered under key ${apiKey}, handles key ${handler.apiKey}`);
      if (handler.minVersion < definition.minVersion || handler.maxVersion > definition.maxVersion) {
        throw new Error(`${definition.name}: versions ${handler.minVersion}-${handler.maxVersion} outside the codec's`);
      }
      if (typeof handler.errorResponse !== 'function') throw new Error(`${definition.name}: no errorResponse`);
      this.handlers.set(apiKey, { handler, definition, requests: [], seconds: undefined });
    }
    this.served = servedApisOf(registry);
  }

  servedApis(): ServedApi[] {
    return this.served;
  }

  handle = async (frame: Buffer, connection: Connection, frameOwned = false): Promise<Buffer[] | undefined> => {
    const started = performance.now();
    if (frame.length < 8) throw new ProtocolViolation(`request of ${frame.length} bytes is too short for a header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const entry = this.handlers.get(apiKey);
    if (!entry) throw new ProtocolViolation(`unsupported API key ${apiKey}`);
    const { handler, definition } = entry;

    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) return this.unsupportedApiVersions(frame);
      throw new ProtocolViolation(`${definition.name} v${apiVersion} is not supported`);
    }

    const reader = new Reader(frame);
    let header;
    let request: unknown;
    try {
      header = decodeRequestHeader(reader, definition.requestHeaderVersion(apiVersion));
      request = definition.decodeRequest(reader, apiVersion);
    } catch (err) {
      if (err instanceof DecodeError) throw new ProtocolViolation(`malformed ${definition.name} v${apiVersion}: ${err.message}`);
      throw err;
    }

    const ctx = new Context(apiKey, apiVersion, header.correlationId, header.clientId, connection, frameOwned, this.broker);
    // A Fetch records its own quotas before answering (a throttled one goes out empty).
    let decidedThrottleMs: number | undefined;
    const quotas = this.broker.quotas;
    if (quotas?.active && apiKey === FETCH_KEY) {
      ctx.fetchQuota = fetchQuota(
        quotas,
        { user: ctx.principal.name, clientId: header.clientId ?? '' },
        () => performance.now() - started - ctx.parkedMs,
        () => this.broker.now(),
        (ms) => (decidedThrottleMs = ms),
      );
    }

    let response: unknown;
    try {
      response = await handler.handle(request, ctx);
    } catch (err) {
      const code = errorCodeOf(err);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) {
        this.broker.logger.error({ err, api: definition.name, version: apiVersion }, 'handler failed');
      }
      try {
        response = handler.errorResponse(request, code, ctx);
      } catch (failed) {
        this.broker.metrics.requestErrors.inc({ api: definition.name });
        throw new ProtocolViolation(`${definition.name} failed and its error response too: ${(failed as Error).message}`);
      }
    }
    (entry.requests[apiVersion] ??= this.broker.metrics.requests.bind({ api: definition.name, version: apiVersion })).inc();
    let writer = response === undefined ? undefined : encodeResponse(definition, apiVersion, header.correlationId, response);
    if (decidedThrottleMs !== undefined) {
      if (decidedThrottleMs > 0) connection.mute(decidedThrottleMs);
    } else if (quotas?.active) {
      const use = {
        apiKey,
        user: ctx.principal.name,
        clientId: header.clientId ?? '',
        requestBytes: frame.length,
        ...(writer ? { responseBytes: writer.length } : {}),
        requestMs: performance.now() - started - ctx.parkedMs,
      };
      const throttleMs = recordQuotaUse(quotas, use, this.broker.now());
      if (throttleMs > 0) {
        connection.mute(throttleMs);
        if (writer && typeof (response as { throttleTimeMs?: unknown }).throttleTimeMs === 'number') {
          (response as { throttleTimeMs: number }).throttleTimeMs = throttleMs;
          writer = encodeResponse(definition, apiVersion, header.correlationId, response);
        }
      }
    }
    if (writer === undefined) return undefined;
    (entry.seconds ??= this.broker.metrics.requestSeconds.bind({ api: definition.name })).observe((performance.now() - started) / 1000);
    return writer.toChunks();
  };

  /**
   * ApiVersions at a version this broker does not know: answered in the v0 layout with
   * UNSUPPORTED_VERSION and the supported ranges, as Kafka does (KIP-511), so the client can
   * retry with a version both sides know.
   */
  private unsupportedApiVersions(frame: Buffer): Buffer[] {
    const correlationId = frame.readInt32BE(4);
    const apis = this.servedApis();
    const writer = new Writer(16 + apis.length * 6);
    const size = writer.reserveInt32();
    writer.int32(correlationId);
    writer.int16(ErrorCode.UNSUPPORTED_VERSION);
    writer.int32(apis.length);
    for (const api of apis) writer.int16(api.apiKey).int16(api.minVersion).int16(api.maxVersion);
    writer.patchInt32(size, writer.length - 4);
    return writer.toChunks();
  }
}
