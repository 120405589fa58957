/**
 * What the REST handlers use: the broker's services and its Kafka API handlers, called
 * in-process. Topic creation, deletion and produce go through the same handler code as the
 * Kafka protocol, so REST gets the same validation, limits and acknowledgement rules.
 */
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import type { HandlerRegistry } from '../dispatcher.js';
import type { BrokerContext, RequestContext } from '../handler-types.js';
import { ANONYMOUS } from '../security/principal.js';

/** Connection ids for in-process calls: negative, so never one of a TCP connection's. */
let nextConnectionId = -1;

export interface RestContext {
  broker: BrokerContext;
  /** Calls the Kafka API handler for apiKey at its highest version. */
  callApi<Res>(apiKey: number, request: unknown, clientHost: string): Promise<Res>;
}

export function createRestContext(broker: BrokerContext, registry: HandlerRegistry): RestContext {
  return {
    broker,
    async callApi<Res>(apiKey: number, request: unknown, clientHost: string): Promise<Res> {
      const handler = registry.get(apiKey);
      if (!handler) throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, `API ${apiKey} is not served`);
      const ctx: RequestContext = {
        apiKey,
        apiVersion: handler.maxVersion,
        correlationId: 0,
        clientId: 'kafka-mysql-rest',
        connectionId: nextConnectionId--,
        clientHost,
        frameOwned: true,
        clientGone: () => false,
        broker,
        logger: broker.logger,
        principal: ANONYMOUS,
      };
      return (await handler.handle(request, ctx)) as Res;
    },
  };
}
