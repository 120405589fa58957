/**
 * What the REST handlers use: the broker's services and its Kafka API handlers, called
 * in-process. Topic creation, deletion and produce go through the same handler code as the
 * Kafka protocol, so REST gets the same validation, limits and acknowledgement rules.
 */
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { HandlerRegistry } from '../dispatcher.js';
import type { BrokerContext, RequestContext } from '../handler-types.js';
import type { KafkaPrincipal } from '../security/principal.js';

/** Connection ids for in-process calls: negative, so never one of a TCP connection's. */
let nextConnectionId = -1;

/** Who made a REST request: the authenticated principal (server/http/auth.ts) and the client's address, as ACLs see them. */
export interface RestCaller {
  principal: KafkaPrincipal;
  host: string;
}

export interface RestContext {
  broker: BrokerContext;
  /** Calls the Kafka API handler for apiKey at its highest version, as `caller` (the handler's ACL checks apply). */
  callApi<Res>(apiKey: number, request: unknown, caller: RestCaller): Promise<Res>;
  /** A request context for `caller`, for the ACL checks of server/security/authorizer/checks.ts. */
  requestContext(caller: RestCaller, apiKey?: number): RequestContext;
}

export function createRestContext(broker: BrokerContext, registry: HandlerRegistry): RestContext {
  const requestContext = (caller: RestCaller, apiKey = -1, apiVersion = 0): RequestContext => ({
    apiKey,
    apiVersion,
    correlationId: 0,
    clientId: 'kafka-mysql-rest',
    connectionId: nextConnectionId--,
    clientHost: caller.host,
    frameOwned: true,
    clientGone: () => false,
    broker,
    logger: broker.logger,
    principal: caller.principal,
  });
  return {
    broker,
    requestContext,
    async callApi<Res>(apiKey: number, request: unknown, caller: RestCaller): Promise<Res> {
      const handler = registry.get(apiKey);
      if (!handler) throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `API ${apiKey} is not served`);
      return (await handler.handle(request, requestContext(caller, apiKey, handler.maxVersion))) as Res;
    },
  };
}
