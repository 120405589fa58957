/**
 * ApiVersions (key 18), versions 0-4.
 * Advertises exactly the handlers registered with the dispatcher, so a version is
 * advertised only when it is served. v3+ carries the client's software name and version,
 * which are logged; ApiVersions at an unknown version is answered by the dispatcher in
 * the v0 layout with UNSUPPORTED_VERSION (KIP-511).
 * The list is the handler registry's (BrokerContext.servedApis). An unexpected failure is
 * answered with UNKNOWN_SERVER_ERROR and an empty list.
 * Not done: feature flags (SupportedFeatures/FinalizedFeatures stay empty).
 */
import { ErrorCode } from '../../codec/error-codes.js';
import type { ApiVersionsRequest, ApiVersionsResponse } from '../../codec/generated/api-versions.js';
import type { ApiHandler } from '../handler-types.js';

export const apiVersionsHandler: ApiHandler<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: 18,
  minVersion: 0,
  maxVersion: 4,
  handle(request, ctx) {
    if (ctx.apiVersion >= 3 && request.clientSoftwareName) {
      ctx.logger.debug(
        { client: request.clientSoftwareName, clientVersion: request.clientSoftwareVersion, clientId: ctx.clientId },
        'client connected',
      );
    }
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: ctx.broker.servedApis.map((api) => ({
        apiKey: api.apiKey,
        minVersion: api.minVersion,
        maxVersion: api.maxVersion,
      })),
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
  },
  errorResponse(_request, errorCode) {
    return {
      errorCode,
      apiKeys: [],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1n,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
  },
};
