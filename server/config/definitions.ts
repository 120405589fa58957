/**
 * Every broker configuration key, with Kafka's name where Kafka has one. This table drives
 * parsing, defaults, DescribeConfigs for the broker resource, and docs/configuration.md
 * (a test checks the docs list every key).
 */
export type ConfigType = 'string' | 'int' | 'long' | 'boolean' | 'list' | 'password';

export interface ConfigDefinition {
  key: string;
  type: ConfigType;
  default: string | null;
  doc: string;
  /** Kafka's own key (true) or specific to kafka-mysql (false). */
  kafka: boolean;
  /**
   * Can hold a credential: DescribeConfigs reports it with a null value and isSensitive, the
   * CLI and logs mask it. Every 'password' key is; so is a key of another type that carries
   * one (mysql.shards, a list of URLs with their passwords).
   */
  sensitive: boolean;
  /**
   * Can be changed at run time through AlterConfigs / IncrementalAlterConfigs on a broker
   * resource (this broker's id or the cluster-wide default ""), as Kafka's
   * DynamicBrokerConfig allows for the same key (see DYNAMIC_BROKER_KEYS).
   */
  dynamic: boolean;
}

/**
 * Keys that can be changed without a restart. Kafka's own keys are here exactly when Kafka
 * 3.9 lets them change at run time (DynamicBrokerConfig.AllDynamicConfigs: the broker synonyms
 * of topic configs, i.e. DynamicLogConfig, and the cleaner, thread-pool, listener and quota
 * groups, of which kafka-mysql has only the first); listeners and advertised.listeners, dynamic
 * in Kafka, stay static here (the listener is not rebound). kafka-mysql's own keys are here when
 * the code reads them at each use. Everything else is refused as Kafka refuses a read-only key.
 */
export const DYNAMIC_BROKER_KEYS: ReadonlySet<string> = new Set([
  'message.max.bytes',
  'log.retention.ms',
  'log.retention.bytes',
  'log.cleanup.policy',
  'log.message.timestamp.type',
  'log.message.timestamp.difference.max.ms',
  'log.message.timestamp.before.max.ms',
  'log.message.timestamp.after.max.ms',
  'log.segment.bytes',
  'compression.type',
  'min.insync.replicas',
  'max.partitions.per.topic',
  'max.partitions',
  'auto.create.topics.max.per.request',
  'log.orphan.table.grace.ms',
]);

const def = (key: string, type: ConfigType, dflt: string | null, doc: string, kafka = true, sensitive = type === 'password'): ConfigDefinition => ({
  key,
  type,
  default: dflt,
  doc,
  kafka,
  sensitive,
  dynamic: DYNAMIC_BROKER_KEYS.has(key),
});

export const BROKER_CONFIG_DEFINITIONS: readonly ConfigDefinition[] = [
  def('broker.id', 'int', '0', 'Node id of this broker, as it appears in Metadata responses.'),
  def('listeners', 'list', 'PLAINTEXT://127.0.0.1:9092', 'Listeners, NAME://host:port each (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL or a name mapped by listener.security.protocol.map).'),
  def('advertised.listeners', 'list', null, 'NAME://host:port per listener, given in Metadata to clients that connected to that listener; a listener left out advertises its own address.'),
  def('listener.security.protocol.map', 'string', 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL', 'Security protocol of each listener name (docs/security.md).'),
  def('inter.broker.listener.name', 'string', null, 'Listener other brokers and the local CLI use; unset: the first PLAINTEXT listener, else the first.'),
  def('ssl.keystore.type', 'string', 'PEM', 'Format of the broker\'s key store: PEM (a file with the private key and certificate chain, or the two inline keys below). JKS and PKCS12 are not read (docs/security.md).'),
  def('ssl.keystore.location', 'string', null, 'PEM file with the private key and certificate chain of SSL and SASL_SSL listeners (listener.name.<listener>.ssl.* overrides per listener).'),
  def('ssl.keystore.password', 'password', null, 'Password of the key store; with PEM, ssl.key.password decrypts the key.'),
  def('ssl.key.password', 'password', null, 'Password of an encrypted PEM private key.'),
  def('ssl.keystore.certificate.chain', 'password', null, 'Certificate chain in PEM, inline (instead of ssl.keystore.location).'),
  def('ssl.keystore.key', 'password', null, 'Private key in PEM (PKCS#8), inline (instead of ssl.keystore.location).'),
  def('ssl.truststore.type', 'string', 'PEM', 'Format of the trust store: PEM only.'),
  def('ssl.truststore.location', 'string', null, 'PEM file of the CA certificates client certificates are checked against; unset: the system CAs.'),
  def('ssl.truststore.password', 'password', null, 'Password of the trust store (not used with PEM).'),
  def('ssl.truststore.certificates', 'password', null, 'CA certificates in PEM, inline (instead of ssl.truststore.location).'),
  def('ssl.client.auth', 'string', 'none', 'Client certificates on SSL listeners: none, requested (checked when given) or required. SASL_SSL listeners ignore it unless set per listener, as Kafka.'),
  def('ssl.principal.mapping.rules', 'string', 'DEFAULT', 'Rules mapping a client certificate\'s subject (RFC 2253) to a user name: RULE:pattern/replacement/[LU], ..., DEFAULT.'),
  def('ssl.enabled.protocols', 'list', 'TLSv1.2,TLSv1.3', 'TLS versions accepted.'),
  def('ssl.cipher.suites', 'list', null, 'OpenSSL cipher list for TLS 1.2 (names as OpenSSL spells them); unset: Node\'s defaults.'),
  def('sasl.enabled.mechanisms', 'list', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512', 'SASL mechanisms offered on SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (Kafka\'s default GSSAPI is not served).'),
  def('sasl.mechanism.inter.broker.protocol', 'string', 'PLAIN', 'SASL mechanism a broker logs in with on another broker\'s SASL inter-broker listener (WriteTxnMarkers), with the username and password of listener.name.<listener>.<mechanism>.sasl.jaas.config; Kafka\'s default GSSAPI is not served.'),
  def('sasl.server.max.receive.size', 'int', '524288', 'Largest frame accepted before authentication; a bigger size closes the connection.'),
  def('connections.max.reauth.ms', 'long', '0', 'Longest SASL session (KIP-368): SaslAuthenticate v1+ tells the client, which re-authenticates before; a connection whose session expired is closed at its next request. 0 = sessions never expire.'),
  def('connection.failed.authentication.delay.ms', 'int', '100', 'A failed authentication is answered (and its connection closed) after this delay, which slows password guessing.'),
  def('sasl.oauthbearer.jwks.endpoint.url', 'string', null, 'OAUTHBEARER: JWKS with the keys tokens are signed with, an https:// URL or a file:// path. Unset: tokens are refused unless sasl.oauthbearer.unsecured.tokens.allowed.', true, true),
  def('sasl.oauthbearer.expected.audience', 'list', null, 'OAUTHBEARER: audiences a token must name one of (aud claim); unset: not checked.'),
  def('sasl.oauthbearer.expected.issuer', 'string', null, 'OAUTHBEARER: the issuer a token must name (iss claim); unset: not checked.'),
  def('sasl.oauthbearer.sub.claim.name', 'string', 'sub', 'OAUTHBEARER: claim holding the principal name.'),
  def('sasl.oauthbearer.scope.claim.name', 'string', 'scope', 'OAUTHBEARER: claim holding the scopes.'),
  def('sasl.oauthbearer.clock.skew.seconds', 'int', '30', 'OAUTHBEARER: clock difference tolerated on exp, iat and nbf.'),
  def('sasl.oauthbearer.unsecured.tokens.allowed', 'boolean', 'false', 'OAUTHBEARER: accept unsigned tokens (alg none) as Kafka\'s default unsecured validator does; for tests only.', false),
  def('authorizer.class.name', 'string', null, 'Turns ACLs on (docs/security.md): kafka.security.authorizer.AclAuthorizer, org.apache.kafka.metadata.authorizer.StandardAuthorizer (both accepted as names of the one built-in authorizer) or kafka-mysql. Unset: no authorizer, every request is allowed.'),
  def('super.users', 'string', null, 'Principals that pass every ACL check, separated by semicolons (User:admin;User:broker).'),
  def('allow.everyone.if.no.acl.found', 'boolean', 'false', 'With an authorizer: allow an operation on a resource that no ACL matches.'),
  def('acl.refresh.ms', 'long', '1000', 'How often each broker checks MySQL for ACL changes made through other brokers; the broker that takes a change applies it at once.', false),
  def('security.audit.log.max.per.second', 'int', '10', 'Most log lines per second for denied requests (logger kafka.authorizer.logger) and, separately, for failed authentications; beyond it they are only counted (kafka_mysql_authorization_denied_total, kafka_mysql_authentications_total) and the next line logged says how many were left out. 0: none logged.', false),
  def('quota.window.num', 'int', '11', 'Number of windows over which client quota rates (producer_byte_rate, consumer_byte_rate, request_percentage) are measured.'),
  def('quota.window.size.seconds', 'int', '1', 'Length of each client quota window; also the longest throttle one response asks for.'),
  def('quota.refresh.ms', 'long', '1000', 'How often each broker checks MySQL for client quota changes made through other brokers; the broker that takes a change applies it at once.', false),
  def('broker.rack', 'string', null, 'Rack of this broker, reported in Metadata.'),
  def('replica.selector.class', 'string', null, "Kafka's ReplicaSelector class for follower fetching (KIP-392, several brokers): org.apache.kafka.common.replica.RackAwareReplicaSelector sends a consumer with client.rack to a broker of its rack (docs/cluster.md); unset: the leader serves and names no preferred read replica.", false),
  def('zookeeper.connect', 'string', null, 'ZooKeeper connection string (host:port,host:port[/chroot]) of a cluster of several brokers (docs/cluster.md). Unset: this broker runs alone, leads every partition and needs no ZooKeeper.'),
  def('zookeeper.session.timeout.ms', 'int', '6000', "ZooKeeper session timeout: a broker that stops answering loses its partitions after this long. Kafka's default is 18000; 6000 keeps failover under 10 s (docs/cluster.md)."),
  def('zookeeper.connection.timeout.ms', 'int', null, 'How long start-up waits for ZooKeeper before failing; unset: zookeeper.session.timeout.ms.'),
  def('controlled.shutdown.enable', 'boolean', 'true', 'On SIGTERM, have the controller move this broker\'s partition leadership to other brokers before the listener closes (several brokers only).'),
  def('controlled.shutdown.timeout.ms', 'int', '30000', 'Longest a controlled shutdown waits for its leadership to move before closing anyway.', false),
  def('offsets.topic.num.partitions', 'int', '50', "Partitions of Kafka's __consumer_offsets over which group ids are hashed to place their coordinators (several brokers); no such topic is created."),
  def('transaction.state.log.num.partitions', 'int', '50', "Partitions of Kafka's __transaction_state over which transactional ids are hashed to place their coordinators (several brokers); no such topic is created."),
  def('num.partitions', 'int', '1', 'Partitions of a topic created without a partition count (auto-created or -1).'),
  def('auto.create.topics.max.per.request', 'int', '20', 'Most topics one Metadata request may auto-create; the others are answered LEADER_NOT_AVAILABLE (retriable).', false),
  def('auto.create.topics.max.per.second', 'int', '10', 'Topics this broker auto-creates per second at most (a token bucket with one second of burst); beyond it LEADER_NOT_AVAILABLE.', false),
  def('max.partitions.per.topic', 'int', '10000', 'Most partitions one topic may have: CreateTopics and CreatePartitions asking for more get INVALID_PARTITIONS, before any MySQL work.', false),
  def('max.partitions', 'int', '100000', 'Most partitions in the cluster (all topics): a CreateTopics, CreatePartitions or auto-creation passing it gets POLICY_VIOLATION. 100,000 is the most librdkafka accepts in one Metadata response.', false),
  def('default.replication.factor', 'int', '1', 'Replication factor reported for new topics; durability comes from MySQL, not replicas.'),
  def('auto.create.topics.enable', 'boolean', 'true', 'Create a topic when a client asks Metadata for a topic that does not exist.'),
  def('delete.topic.enable', 'boolean', 'true', 'Allow DeleteTopics.'),
  def('message.max.bytes', 'int', '1048588', 'Largest record batch accepted (topic override: max.message.bytes).'),
  def('socket.request.max.bytes', 'int', '104857600', 'Largest request frame; a bigger size prefix closes the connection before any allocation.'),
  def('log.retention.hours', 'int', '720', 'Hours to keep a batch (30 days); used when log.retention.ms and log.retention.minutes are unset.'),
  def('log.retention.minutes', 'int', null, 'Minutes to keep a batch; overrides log.retention.hours.'),
  def('log.retention.ms', 'long', null, 'Milliseconds to keep a batch; overrides minutes and hours. -1 keeps forever.'),
  def('log.retention.bytes', 'long', '-1', 'Bytes to keep per partition (-1 = no limit).'),
  def('log.retention.check.interval.ms', 'long', '300000', 'How often the retention job runs inside the broker.'),
  def('retention.chunk.batches', 'int', '500', 'Most batches the retention job deletes in one MySQL transaction.', false),
  def('retention.chunk.bytes', 'long', '67108864', 'Most payload bytes the retention job deletes in one MySQL transaction (64 MiB).', false),
  def('retention.archive.mysql.url', 'password', null, 'MySQL URL of the database holding the archive table of topics with retention.archive=table; unset: each partition\'s own shard.', false),
  def('retention.archive.dir', 'string', './archive', 'Directory of the compressed archive files of topics with retention.archive=file.', false),
  def('broker.config.refresh.ms', 'long', '2000', 'How often the broker re-reads the dynamic broker configs (AlterConfigs on a broker resource) from MySQL, so a change made through another broker applies here within this time; the broker that takes the change applies it at once.', false),
  def('log.start.offset.refresh.ms', 'long', '10000', 'How often the broker re-reads log start offsets moved by other processes (the retention CLI).', false),
  def('log.orphan.table.grace.ms', 'long', '3600000', 'Age a log table must reach before the retention job drops it when no topic refers to it (left by a crash between a topic\'s tables and its metadata); a younger one may belong to a topic being created. 0 = no wait.', false),
  def('log.cleanup.policy', 'list', 'delete', 'Default cleanup.policy for topics: delete, compact, or both (docs/compaction.md).'),
  def('log.cleaner.enable', 'boolean', 'true', 'Run the compaction job inside the broker for topics whose cleanup.policy includes compact; `kafka-mysql compaction run` works either way.'),
  def('log.cleaner.backoff.ms', 'long', '15000', 'How often the broker\'s compaction job looks for partitions to compact.'),
  def('log.cleaner.dedupe.buffer.size', 'long', '134217728', 'Memory for one compaction run\'s key map: a run maps at most this / 128 keys (about a million by default); a larger dirty section is compacted over several runs.'),
  def('compaction.chunk.batches', 'int', '500', 'Most batches the compaction job reads, rewrites or deletes in one MySQL transaction.', false),
  def('outbox.mysql.url', 'password', null, 'MySQL URL of an application database whose outbox table this broker relays (docs/outbox.md); unset: no in-broker relay. `kafka-mysql outbox run` reads it too.', false),
  def('outbox.table', 'string', 'outbox', 'Name of the outbox table in outbox.mysql.url.', false),
  def('outbox.batch.size', 'int', '500', 'Most outbox rows the relay claims, publishes and deletes per transaction.', false),
  def('outbox.id.header', 'string', 'message-id', 'Header carrying each outbox row\'s id; set the topics\' message.id.header to it so rows published again after a relay crash are dropped.', false),
  def('outbox.id.prefix', 'string', '', 'Prepended to the row id in the message-id header (several outbox tables publishing to one topic).', false),
  def('outbox.principal', 'string', 'User:kafka-mysql-outbox', 'Principal the in-broker outbox relay produces as on a single broker (in-process, whatever the listeners\' security); with an authorizer, grant it WRITE on the outbox\'s topics or name it in super.users.', false),
  def('outbox.poll.interval.ms', 'int', '200', 'Wait of the outbox relay between claims when the table was empty.', false),
  def('delayed.delivery.page.size', 'int', '2000', 'Most due delayed records (docs/delayed.md) the broker claims and appends per partition in one step; memory is one page of records per partition being delivered (lower it for topics of large records).', false),
  def('delayed.delivery.rescan.ms', 'int', '2000', 'How often the broker re-reads which partitions of delayed.delivery.enable topics it leads and their earliest due time (leadership changes, restarts); due times of records produced through this broker are known at once.', false),
  def('delayed.delivery.concurrency', 'int', '8', 'Partitions whose due delayed records the broker delivers at once.', false),
  def('delayed.delivery.pipeline', 'boolean', 'false', 'Claim a partition\'s next page of due delayed records while its previous page is appended, instead of one page at a time. Off by default: on a loaded 2-core machine it gave p99 lateness from 0.3 s to 7 s at 10,000 due/s where one page at a time gave 0.7-1.6 s (docs/benchmarks.md).', false),
  def('subscriptions.enable', 'boolean', 'true', 'Whether this broker delivers push subscriptions (docs/subscriptions.md); false: it still serves their REST routes.', false),
  def('subscriptions.lease.ms', 'int', '30000', 'Lease of a broker on a push subscription and its partitions: another broker takes over this long after the delivering one died (at least twice the endpoint timeout plus 3 s is used).', false),
  def('subscriptions.poll.interval.ms', 'int', '1000', 'How often brokers re-read subscription definitions, retry taking leases, and look for re-pushed records.', false),
  def('subscriptions.commit.interval.ms', 'int', '200', 'How often a delivering broker writes subscription progress (committed offsets, record states, the attempt log) to MySQL.', false),
  def('subscriptions.max.read.ahead.records', 'int', '1000', 'Most records per source partition a subscription reads ahead of its committed offset.', false),
  def('message.index.interval.ms', 'int', '1000', 'How often the broker indexes the new records of topics with message.index.enable (docs/outbox.md, finding messages); 0 disables the indexer.', false),
  def('compaction.chunk.bytes', 'long', '67108864', 'Most payload bytes the compaction job reads per chunk (64 MiB).', false),
  def('log.message.timestamp.type', 'string', 'CreateTime', 'Default message.timestamp.type for topics: CreateTime or LogAppendTime.'),
  def('log.message.timestamp.difference.max.ms', 'long', '9223372036854775807', 'Default message.timestamp.difference.max.ms for topics (deprecated in Kafka 3.6: the default of the two below when they are unset).'),
  def('log.message.timestamp.before.max.ms', 'long', '9223372036854775807', 'Default message.timestamp.before.max.ms for topics: how far in the past a CreateTime record timestamp may be (INVALID_TIMESTAMP beyond).'),
  def('log.message.timestamp.after.max.ms', 'long', '9223372036854775807', 'Default message.timestamp.after.max.ms for topics: how far in the future a CreateTime record timestamp may be (INVALID_TIMESTAMP beyond).'),
  def('log.segment.bytes', 'int', '1073741824', 'Default segment.bytes for topics: batches are rows, not segment files; it bounds the uncompacted head of compacted partitions (docs/compaction.md).'),
  def('compression.type', 'string', 'producer', 'Default compression.type for topics; batches are stored as the producer sent them.'),
  def('min.insync.replicas', 'int', '1', 'MySQL servers an acks=all append must be on before it is acknowledged: at 2 or more on a shard with replicas, a replica must confirm the commit (semi-sync), else NOT_ENOUGH_REPLICAS / NOT_ENOUGH_REPLICAS_AFTER_APPEND; a shard without replicas ignores it.'),
  def('group.initial.rebalance.delay.ms', 'int', '3000', 'Delay before the first rebalance of a new, empty group.'),
  def('group.min.session.timeout.ms', 'int', '6000', 'Smallest session timeout a consumer may ask for.'),
  def('group.max.session.timeout.ms', 'int', '1800000', 'Largest session timeout a consumer may ask for.'),
  def('group.max.size', 'int', '2147483647', 'Most members of one consumer group; a JoinGroup beyond it gets GROUP_MAX_SIZE_REACHED (default: no limit, as Kafka).'),
  def('group.member.metadata.max.bytes', 'int', '1048576', 'Most bytes of protocol names and metadata one member may send in a JoinGroup (1 MiB); more gets INVALID_REQUEST.', false),
  def('group.metadata.max.bytes', 'int', '33554432', 'Most bytes of protocol names and metadata of all members of one group together (32 MiB), which bounds the leader\'s JoinGroup response; a JoinGroup that would pass it gets GROUP_MAX_SIZE_REACHED.', false),
  def('offsets.retention.minutes', 'int', '10080', 'Committed offsets of an empty group expire after this long (7 days).'),
  def('offsets.retention.check.interval.ms', 'long', '600000', 'How often committed offsets are checked for expiry.'),
  def('offset.metadata.max.bytes', 'int', '4096', 'Largest metadata string stored with a committed offset.'),
  def('producer.id.expiration.ms', 'long', '86400000', 'An idempotent producer idle this long (by its last batch\'s timestamp) is forgotten by a partition; its next batch may start at any sequence, as in Kafka (1 day).'),
  def('producer.id.expiration.check.interval.ms', 'long', '600000', 'How often idle producers are forgotten.'),
  def('transaction.max.timeout.ms', 'int', '900000', 'Largest transaction timeout a producer may ask for in InitProducerId (INVALID_TRANSACTION_TIMEOUT beyond).'),
  def('transactional.id.expiration.ms', 'long', '604800000', 'A transactional id with no transaction open and no activity for this long is removed (7 days).'),
  def('transaction.abort.timed.out.transaction.cleanup.interval.ms', 'int', '10000', 'How often transactions open longer than their timeout are aborted (the producer\'s epoch is bumped, fencing it).'),
  def('transaction.remove.expired.transaction.cleanup.interval.ms', 'long', '3600000', 'How often expired transactional ids are removed.'),
  def('connections.max.idle.ms', 'long', '600000', 'A connection that neither sends nor receives a byte for this long is closed, including one stalled in the middle of a request frame or waiting for memory to read one. 0 = never.'),
  def('max.connections', 'int', '10000', 'Most client connections the broker keeps; one more is closed as soon as it is accepted (Kafka blocks accepting instead; its default is unlimited, 10,000 here bounds one Node process).'),
  def('max.connections.per.ip', 'int', '2147483647', 'Most connections from one IP address; one more is closed as soon as it is accepted, as in Kafka.'),
  def('max.connections.per.ip.overrides', 'string', null, 'Per-address exceptions to max.connections.per.ip: comma-separated ip:count (IP addresses only, not host names).'),
  def('max.incremental.fetch.session.cache.slots', 'int', '1000', 'Incremental fetch sessions (KIP-227) the broker keeps, split as in Kafka 3.9 over 8 shards of slots/8 each (so below 8 there are none); a client without a session sends every partition in every Fetch and gets all of them back. 0 disables sessions.'),
  def('min.incremental.fetch.session.eviction.ms', 'long', '120000', 'How long a fetch session must go unused before any new session may take its slot, and how old it must be before a new session with more partitions may (Kafka\'s fixed MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS, 120 s).', false),
  def('queued.max.requests', 'int', '500', 'Requests in progress on all connections together; one more is read but held unhandled, and its connection stops reading, until one finishes. A Fetch waiting for data (long poll) does not count. 0 = no limit.'),
  def('queued.max.request.bytes', 'long', '268435456', 'Bytes of requests being read or in progress on all connections together (256 MiB; Kafka\'s default is -1, unlimited). A frame larger than 2 MiB is read into memory that grows as its bytes arrive, within this budget; over it, such frames wait (one at a time may go over by up to socket.request.max.bytes), while smaller frames are never held back. -1 = no limit.'),
  def('mysql.url', 'password', null, 'MySQL URL of the metadata database (and shard 0), e.g. mysql://user:pass@host:3306/kafka. Replicas of the server: repeatable replica=host:port parameters (same user, password and database; semi-synchronous GTID replication, docs/operations.md "Shards with replicas"). Unset: a managed local MariaDB under mysql.data.dir. Environment: KAFKA_MYSQL_URL.', false),
  def('mysql.shards', 'list', null, 'Comma-separated MySQL URLs of the log shards, each with its replicas as replica=host:port parameters like mysql.url; defaults to mysql.url alone.', false, true),
  def('mysql.failover.timeout.ms', 'int', '5000', 'A MySQL primary with replicas that has not answered (or is read-only) for this long is replaced by its most advanced replica (GTID), promoted by the lone broker or, with ZooKeeper, by the controller (published under a shard epoch that every broker follows). 0 disables failover.', false),
  def('mysql.failover.quorum', 'int', '1', 'With ZooKeeper: how many live brokers, the controller included, must see a MySQL primary unreachable for mysql.failover.timeout.ms before the controller promotes a replica (each reports through an ephemeral znode). 1 = the controller alone decides.', false),
  def('mysql.query.timeout.ms', 'int', '30000', 'A MySQL query whose reply has not begun after this long fails (KAFKA_STORAGE_ERROR, retriable, to the client) and its connection is closed: a paused or hung server never answers and TCP keepalive does not notice it. Keep it above rpl_semi_sync_master_timeout and above the longest statement (retention and compaction deletes). 0 = no bound.', false),
  def('mysql.failover.fencing.command', 'string', null, 'Shell command run after each promotion to fence the old primary for good (power it off, cut its network, ...), with KAFKA_MYSQL_SHARD, KAFKA_MYSQL_OLD_PRIMARY and KAFKA_MYSQL_NEW_PRIMARY (host:port) in its environment; the old primary is also set read_only when it answers.', false),
  def('mysql.data.dir', 'string', './data', 'Data directory of the managed local MariaDB (used when mysql.url is unset).', false),
  def('mysql.managed.port', 'int', '0', 'Port of the managed MariaDB on 127.0.0.1 (0 = pick a free one).', false),
  def('mysql.pool.size', 'int', '8', 'Connections per MySQL pool.', false),
  def('log.tail.cache.bytes', 'long', '4194304', 'Bytes of the newest batches kept in memory per partition for consumers reading the tail.', false),
  def('log.tail.cache.total.bytes', 'long', '268435456', 'Bytes of the tail caches of all partitions together (256 MiB); the batches cached longest ago are evicted first. 0 = no global cap.', false),
  def('mysql.log.insert.driver', 'string', 'auto', 'Driver writing log rows: auto (the mariadb connector\'s bulk execute when the server is MariaDB, mysql2 otherwise), mysql2 or mariadb.', false),
  def('group.commit.lanes', 'int', '2', 'Group-commit lanes per MySQL shard: each has its own connections (group.commit.pipeline.depth of them) and transactions; a partition always uses the same lane, so its appends stay in order.', false),
  def('group.commit.pipeline.depth', 'int', '2', 'Group-commit transactions in flight per lane, each on its own connection: with 2, transaction N+1 is inserted while N commits (its fsync). N+1 of plain records (no producer ids, shard without replicas) sends its COMMIT without waiting for N, so MySQL can group both in one binlog fsync; any other commits only after N did. Appends are acknowledged in order either way; if N fails, an N+1 that waited rolls back and its appends run again, one that committed is acknowledged after the gap (docs/storage.md). 1 = one transaction at a time.', false),
  def('group.commit.max.delay.ms', 'int', '2', 'Longest an append waits for others to share its MySQL transaction.', false),
  def('group.commit.max.bytes', 'long', '4194304', 'Most batch bytes one group-commit transaction carries (4 MiB; at least 1 MiB). Larger transactions mean fewer commits per MB under full load and a longer wait for the requests in them (see docs/benchmarks.md).', false),
  def('v8.heap.growing.percent', 'int', '300', 'V8 heap growing factor of the broker process, in percent over what survived the last full garbage collection (300 = 4x): the next full collection starts when the heap plus the Buffer memory allocated since reaches it. Higher means fewer full collections per MB produced and more garbage held between them; 0 = V8 decides (see docs/benchmarks.md, issue 19).', false),
  def('metrics.listener', 'string', '127.0.0.1:9404', 'host:port (or http://host:port) of the HTTP listener serving /metrics (Prometheus), /health and the REST interface (docs/http.md); https://host:port serves them over TLS with the ssl.* keys, each overridable as listener.name.http.ssl.* (ssl.client.auth=required: mutual TLS). Empty disables it.', false),
  def('rest.authentication.method', 'list', null, 'How REST callers authenticate (Confluent REST Proxy\'s authentication.method): BASIC (users in MySQL or PLAIN JAAS users), BEARER (OAUTHBEARER tokens, sasl.oauthbearer.* keys), both, or NONE. Unset: Basic (and Bearer when OAUTHBEARER is configured) accepted, required exactly when every Kafka listener requires authentication. NONE is refused at start-up when every Kafka listener requires authentication, unless the https listener requires client certificates.', false),
  def('rest.authentication.realm', 'string', 'kafka-mysql', 'Realm named in the REST interface\'s WWW-Authenticate header (Confluent\'s authentication.realm).', false),
  def('rest.authentication.cache.ms', 'int', '30000', 'How long a verified REST Basic password is remembered (an HMAC of it, in memory), so requests do not each pay PBKDF2; a changed or deleted password may work that much longer. 0: verify every request.', false),
  def('console.enable', 'boolean', 'true', 'Serve the web console under /console on the metrics.listener (docs/console.md).', false),
  def('console.allow.remote', 'boolean', 'false', 'Let clients other than loopback (127.0.0.0/8, ::1) use the console; keep false unless REST authentication is on (docs/console.md).', false),
  def('consumer.instance.timeout.ms', 'int', '300000', 'Idle time after which a REST (v2) consumer instance is deleted and leaves its group, as in Confluent\'s REST Proxy.', false),
  def('log.level', 'string', 'info', 'pino log level: trace, debug, info, warn, error.', false),
];

/** Keys whose values are never shown: DescribeConfigs, the CLI, logs. */
export const SENSITIVE_BROKER_KEYS: ReadonlySet<string> = new Set(BROKER_CONFIG_DEFINITIONS.filter((d) => d.sensitive).map((d) => d.key));

export const BROKER_CONFIG_BY_KEY: ReadonlyMap<string, ConfigDefinition> = new Map(
  BROKER_CONFIG_DEFINITIONS.map((d) => [d.key, d]),
);

/** Environment variable overriding a key: KAFKA_MYSQL_ + upper case, dots to underscores. */
export function envNameOf(key: string): string {
  return 'KAFKA_MYSQL_' + key.toUpperCase().replace(/[.-]/g, '_');
}
