/** The REST interface (docs/http.md): every resource's routes behind one router. */
import type { IncomingMessage } from 'node:http';
import type { HandlerRegistry } from '../dispatcher.js';
import type { BrokerContext } from '../handler-types.js';
import type { KafkaPrincipal } from '../security/principal.js';
import type { BrokerConfig } from '../config/index.js';
import { tlsSetupFor, type TlsSetup } from '../security/tls.js';
import { HTTP_LISTENER_NAME, RestAuthenticator, restAuthSettings } from './auth.js';
import { clusterRoutes } from './cluster.js';
import { ConsumerInstances, consumerRoutes } from './consumers.js';
import { createRestContext } from './context.js';
import { groupRoutes } from './groups.js';
import { messageRoutes } from './messages.js';
import type { MessageIndexStore } from '../../storage/message-index/index-store.js';
import { openApiRoutes } from './openapi.js';
import { produceRoutes } from './produce.js';
import { recordRoutes } from './records.js';
import { RestRouter } from './router.js';
import { topicRoutes } from './topics.js';
import { delayedRoutes } from '../delayed/routes.js';
import { subscriptionRoutes } from '../subscriptions/routes.js';

export { RestRouter } from './router.js';

export interface RestService {
  router: RestRouter;
  /** Who a request is from (server/http/auth.ts); the console (server/console/) logs in with the same users. */
  authenticate(req: IncomingMessage): Promise<KafkaPrincipal>;
  /** Deletes every consumer instance (broker shutdown). */
  close(): Promise<void>;
}

/** TLS of an https:// metrics.listener: Kafka's ssl.* keys, each overridable as listener.name.http.ssl.*; null for plain HTTP. */
export function httpTlsSetup(config: BrokerConfig): TlsSetup | null {
  if (!config.metricsListenerTls || !config.metricsListener) return null;
  const { host, port } = config.metricsListener;
  return tlsSetupFor(config, { name: HTTP_LISTENER_NAME, protocol: 'SSL', host, port, advertisedHost: host, advertisedPort: port });
}

export function createRestService(broker: BrokerContext, registry: HandlerRegistry, tls: TlsSetup | null = null, messageIndex: MessageIndexStore | null = null): RestService {
  const rest = createRestContext(broker, registry);
  const consumers = new ConsumerInstances(rest);
  const settings = restAuthSettings(broker.config, tls?.clientAuth === 'required');
  const authenticator = new RestAuthenticator(broker.config, settings, broker.users, broker.logger, broker.metrics.registry);
  broker.logger.info({ methods: settings.methods, required: settings.required, tls: tls !== null, clientAuth: tls?.clientAuth ?? 'none' }, 'REST authentication');
  const router = new RestRouter(rest, [...clusterRoutes, ...topicRoutes, ...groupRoutes, ...produceRoutes, ...recordRoutes, ...messageRoutes(messageIndex), ...delayedRoutes, ...consumerRoutes(consumers), ...subscriptionRoutes, ...openApiRoutes], authenticator);
  return { router, authenticate: (req) => authenticator.authenticate(req), close: () => consumers.closeAll() };
}
