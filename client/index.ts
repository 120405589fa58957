export { ConnectionClosedError, KafkaConnection, RequestTimeoutError, type ConnectionOptions } from './connection.js';
export { FrameSplitter, FrameTooLargeError } from './frames.js';
