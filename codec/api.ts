import type { Reader } from './primitives/reader.js';
import type { Writer } from './primitives/writer.js';

/**
 * One Kafka API as the generated registry describes it: version range, header versions
 * and the generated codecs. Bodies are `unknown` here; `ApiMessages` in
 * codec/generated/registry.ts gives the concrete types per API key.
 */
export interface ApiDefinition {
  readonly apiKey: number;
  /** `Produce`, `ApiVersions`, ... */
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** first flexible version, -1 if the API has none */
  readonly flexibleMinVersion: number;
  /** true when Kafka marks the highest version as unstable (share groups) */
  readonly latestVersionUnstable: boolean;
  /** node roles Kafka serves this API on: `broker`, `controller`, `zkBroker` */
  readonly listeners: readonly string[];
  requestHeaderVersion(version: number): number;
  responseHeaderVersion(version: number): number;
  decodeRequest(r: Reader, version: number): unknown;
  encodeRequest(w: Writer, msg: unknown, version: number): void;
  decodeResponse(r: Reader, version: number): unknown;
  encodeResponse(w: Writer, msg: unknown, version: number): void;
}
