/**
 * The order in which Kafka lists config entries in DescribeConfigs. Kafka builds each entry
 * list by iterating a java.util.HashMap of the config's keys (AbstractConfig.nonInternalValues),
 * so entries come in the HashMap's bucket order: the bucket is the key's String.hashCode with
 * its high half folded in (HashMap.hash), masked to the table size, which depends only on the
 * number of keys (16 slots, doubled while more than 3/4 full). Keys sharing a bucket keep the
 * order in which the config defines them. Reproducing that order lets clients and tools that
 * show entries as the broker sent them see Kafka's order.
 */

/** Java's String.hashCode (UTF-16 code units, 32-bit wrap-around). */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Slots of a java.util.HashMap filled by `count` put() calls from the default capacity. */
export function javaHashMapCapacity(count: number): number {
  let capacity = 16;
  while (count > capacity * 0.75) capacity *= 2;
  return capacity;
}

/**
 * `keys` (given in the config's definition order) in the iteration order of a
 * java.util.HashMap with `capacity` slots.
 */
export function javaHashMapOrder(keys: readonly string[], capacity: number): string[] {
  const bucket = (k: string) => {
    const h = javaStringHash(k);
    return (h ^ (h >>> 16)) & (capacity - 1);
  };
  return keys
    .map((key, index) => ({ key, index, bucket: bucket(key) }))
    .sort((a, b) => a.bucket - b.bucket || a.index - b.index)
    .map((e) => e.key);
}

/** Kafka 3.9's topic config keys (LogConfig), in the order LogConfig defines them. */
export const KAFKA_TOPIC_CONFIG_KEYS: readonly string[] = [
  'segment.bytes', 'segment.ms', 'segment.jitter.ms', 'segment.index.bytes', 'flush.messages', 'flush.ms',
  'retention.bytes', 'retention.ms', 'max.message.bytes', 'index.interval.bytes', 'delete.retention.ms',
  'min.compaction.lag.ms', 'max.compaction.lag.ms', 'file.delete.delay.ms', 'min.cleanable.dirty.ratio',
  'cleanup.policy', 'unclean.leader.election.enable', 'min.insync.replicas', 'compression.type',
  'compression.gzip.level', 'compression.lz4.level', 'compression.zstd.level', 'preallocate',
  'message.format.version', 'message.timestamp.type', 'message.timestamp.difference.max.ms',
  'message.timestamp.before.max.ms', 'message.timestamp.after.max.ms', 'leader.replication.throttled.replicas',
  'follower.replication.throttled.replicas', 'message.downconversion.enable', 'remote.storage.enable',
  'local.retention.ms', 'local.retention.bytes', 'remote.log.copy.disable', 'remote.log.delete.on.disable',
];

/**
 * Slots of Kafka 3.9's map of broker configs: it defines between 193 and 384 non-internal
 * broker keys, so the map grows to 512 slots.
 */
export const KAFKA_BROKER_CONFIG_SLOTS = 512;

/** Topic config keys in Kafka's DescribeConfigs order; keys Kafka does not define (kafka-mysql's own) last. */
export function kafkaTopicConfigOrder(keys: readonly string[]): string[] {
  const known = new Set(KAFKA_TOPIC_CONFIG_KEYS);
  const order = javaHashMapOrder(KAFKA_TOPIC_CONFIG_KEYS, javaHashMapCapacity(KAFKA_TOPIC_CONFIG_KEYS.length));
  const wanted = new Set(keys);
  return [...order.filter((k) => wanted.has(k)), ...keys.filter((k) => !known.has(k))];
}

/**
 * Broker config keys in Kafka's DescribeConfigs order: keys Kafka does not define first (Kafka
 * lists a broker's custom keys before its own), then Kafka's in its map order.
 */
export function kafkaBrokerConfigOrder(keys: readonly string[], isKafkaKey: (key: string) => boolean): string[] {
  const own = keys.filter((k) => !isKafkaKey(k));
  const kafka = keys.filter(isKafkaKey);
  return [...javaHashMapOrder(own, javaHashMapCapacity(own.length)), ...javaHashMapOrder(kafka, KAFKA_BROKER_CONFIG_SLOTS)];
}
