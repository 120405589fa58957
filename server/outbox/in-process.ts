/**
 * The in-broker relay's way to publish without a network hop: the broker's own Produce handler,
 * called in-process as `outbox.principal` (so ACLs apply to it as to any producer, and the
 * topic's message-id deduplication sees every record), with acks=-1, and partition counts and
 * topic configs from the broker's catalog. It needs no listener and no credentials, so the relay
 * runs on a broker whose listeners are all SASL or SSL. Only for a single broker: with several,
 * a partition led by another broker is refused (NOT_LEADER_OR_FOLLOWER) and the service uses a
 * client instead (server/outbox/service.ts).
 */
import { ErrorCode, KafkaError } from '../../codec/error-codes.js';
import { createProduceRequest, type ProduceResponse } from '../../codec/generated/produce.js';
import { effectiveTopicConfig } from '../config/index.js';
import type { HandlerRegistry } from '../dispatcher.js';
import type { BrokerContext } from '../handler-types.js';
import { createRestContext, type RestCaller } from '../http/context.js';
import type { KafkaPrincipal } from '../security/principal.js';
import type { OutboxPublisher } from './relay.js';

const PRODUCE_TIMEOUT_MS = 30_000;

/** "User:name" as a principal; a value without a type is a user name. */
export function parsePrincipal(value: string): KafkaPrincipal {
  const colon = value.indexOf(':');
  return colon > 0 ? { type: value.slice(0, colon), name: value.slice(colon + 1) } : { type: 'User', name: value };
}

export function inProcessPublisher(broker: BrokerContext, registry: HandlerRegistry, principal: KafkaPrincipal): OutboxPublisher {
  const calls = createRestContext(broker, registry);
  const caller: RestCaller = { principal, host: '127.0.0.1' };
  return {
    async produce(topic, partition, records) {
      const request = createProduceRequest({ acks: -1, timeoutMs: PRODUCE_TIMEOUT_MS, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
      const response = await calls.callApi<ProduceResponse>(0, request, caller);
      const p = response.responses[0]?.partitionResponses[0];
      if (p === undefined) throw new Error('empty Produce response');
      if (p.errorCode !== ErrorCode.NONE) {
        const name = Object.entries(ErrorCode).find(([, code]) => code === p.errorCode)?.[0] ?? String(p.errorCode);
        throw new KafkaError(p.errorCode, `Produce to ${topic}-${partition} as ${principal.type}:${principal.name} failed: ${name}${p.errorMessage ? ` (${p.errorMessage})` : ''}`);
      }
    },
    async fetchTopicMetadata(topics) {
      return topics.map((name) => {
        const topic = broker.catalog.getTopic(name);
        return { name, partitions: Array.from({ length: topic?.partitionCount ?? 0 }, (_, i) => i) };
      });
    },
    async describeConfigs(resource) {
      const topic = broker.catalog.getTopic(resource.name);
      if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${resource.name} does not exist`);
      const header = effectiveTopicConfig('message.id.header', topic.configs, broker.config);
      return [{ name: 'message.id.header', value: header.value }];
    },
  };
}
