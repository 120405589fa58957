/** The REST interface (docs/http.md): every resource's routes behind one router. */
import type { HandlerRegistry } from '../dispatcher.js';
import type { BrokerContext } from '../handler-types.js';
import { clusterRoutes } from './cluster.js';
import { ConsumerInstances, consumerRoutes } from './consumers.js';
import { createRestContext } from './context.js';
import { groupRoutes } from './groups.js';
import { openApiRoutes } from './openapi.js';
import { produceRoutes } from './produce.js';
import { recordRoutes } from './records.js';
import { RestRouter } from './router.js';
import { topicRoutes } from './topics.js';

export { RestRouter } from './router.js';

export interface RestService {
  router: RestRouter;
  /** Deletes every consumer instance (broker shutdown). */
  close(): Promise<void>;
}

export function createRestService(broker: BrokerContext, registry: HandlerRegistry): RestService {
  const rest = createRestContext(broker, registry);
  const consumers = new ConsumerInstances(rest);
  const router = new RestRouter(rest, [...clusterRoutes, ...topicRoutes, ...groupRoutes, ...produceRoutes, ...recordRoutes, ...consumerRoutes(consumers), ...openApiRoutes]);
  return { router, close: () => consumers.closeAll() };
}
