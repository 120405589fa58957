/**
 * DescribeCluster (key 60), versions 0-1.
 * The live brokers, the controller and the cluster id. Endpoint type controller (v1)
 * gets MISMATCHED_ENDPOINT_TYPE: clients talk to brokers here, as with a Kafka broker.
 * Cluster authorized operations when asked: with no authorizer every operation a cluster
 * supports, as Kafka answers (KIP-430). An unexpected failure is answered with
 * UNKNOWN_SERVER_ERROR and no brokers.
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { DescribeClusterRequest, DescribeClusterResponse } from '../../codec/generated/describe-cluster.js';
import type { ApiHandler } from '../handler-types.js';
import { endpointFor } from '../security/endpoint.js';
import { AUTHORIZED_OPERATIONS_OMITTED, authorizedOperations } from './authorized-operations.js';

const ENDPOINT_BROKERS = 1;

export const describeClusterHandler: ApiHandler<DescribeClusterRequest, DescribeClusterResponse> = {
  apiKey: 60,
  minVersion: 0,
  maxVersion: 1,
  handle(request, ctx) {
    const cluster = ctx.broker.cluster;
    const mismatched = ctx.apiVersion >= 1 && request.endpointType !== ENDPOINT_BROKERS;
    return {
      throttleTimeMs: 0,
      errorCode: mismatched ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.NONE,
      errorMessage: mismatched ? 'The request was sent to an endpoint of the wrong type.' : null,
      endpointType: request.endpointType,
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId(),
      brokers: mismatched ? [] : cluster.brokers().map((b) => ({ brokerId: b.nodeId, ...endpointFor(b, ctx), rack: b.rack })),
      clusterAuthorizedOperations: authorizedOperations(request.includeClusterAuthorizedOperations, 'cluster', 'kafka-cluster', ctx),
    };
  },
  errorResponse(request, errorCode) {
    return {
      throttleTimeMs: 0,
      errorCode,
      errorMessage: null,
      endpointType: request.endpointType,
      clusterId: '',
      controllerId: -1,
      brokers: [],
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    };
  },
};
