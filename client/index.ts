export { ConfigResourceType, KafkaAdmin, type ConfigChange, type ConfigEntry, type GroupDescription, type PartitionOffsets, type TopicMetadata } from './admin.js';
export { BrokerNode, KafkaCluster, type BrokerAddress, type ClusterOptions } from './cluster.js';
export { ConnectionClosedError, KafkaConnection, openSocket, RequestTimeoutError, type ConnectionOptions, type SocketOptions } from './connection.js';
export { KafkaResponseError, errorName } from './errors.js';
export { FrameSplitter, FrameTooLargeError } from './frames.js';
