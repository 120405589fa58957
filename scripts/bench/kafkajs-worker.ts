/**
 * kafkajs load in its own process, so its CPU is measured apart from the broker's.
 * argv[2] is a JSON job: produce (N producers, acks=-1, batches of `batchRecords` records) or
 * consume (a consumer group reading `targetRecords` from the beginning, or the tail for a
 * duration). Prints one JSON line with the result and this process's CPU seconds.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';

interface Job {
  mode: 'produce' | 'consume';
  brokers: string[];
  topic: string;
  partitions: number;
  producers?: number;
  batchRecords?: number;
  recordBytes?: number;
  durationMs: number;
  targetRecords?: number;
  groupId?: string;
  fromBeginning?: boolean;
}

async function produce(job: Job, kafka: Kafka): Promise<object> {
  const value = Buffer.alloc(job.recordBytes!, 0x62);
  const messages = Array.from({ length: job.batchRecords! }, () => ({ value }));
  const producers: Producer[] = [];
  for (let i = 0; i < job.producers!; i++) {
    const p = kafka.producer({ allowAutoTopicCreation: false });
    await p.connect();
    producers.push(p);
  }
  let records = 0;
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + job.durationMs;
  await Promise.all(
    producers.map(async (p, i) => {
      let partition = i % job.partitions;
      while (performance.now() < deadline) {
        await p.send({ topic: job.topic, acks: -1, messages: messages.map((m) => ({ ...m, partition })) });
        records += messages.length;
        bytes += messages.length * value.length;
        partition = (partition + job.producers!) % job.partitions;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const p of producers) await p.disconnect();
  return { seconds, records, valueBytes: bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function consume(job: Job, kafka: Kafka): Promise<object> {
  const consumer = kafka.consumer({ groupId: job.groupId!, maxBytes: 16 << 20, maxBytesPerPartition: 4 << 20, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: job.topic, fromBeginning: job.fromBeginning ?? true });
  let records = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + job.durationMs;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = performance.now();
      for (const m of batch.messages) bytes += m.value?.length ?? 0;
      records += batch.messages.length;
      last = performance.now();
      if (job.targetRecords !== undefined && records >= job.targetRecords) finish();
    },
  });
  const timer = setTimeout(finish, Math.max(0, deadline - performance.now()));
  await done;
  clearTimeout(timer);
  const cpu = process.cpuUsage(cpu0);
  await consumer.disconnect();
  // Throughput from the first batch received to the last (group join excluded).
  const seconds = first > 0 && last > first ? (last - first) / 1000 : (performance.now() - start) / 1000;
  return { seconds, records, valueBytes: bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6, joinSeconds: first > 0 ? (first - start) / 1000 : null };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as Job;
  const kafka = new Kafka({ clientId: 'bench', brokers: job.brokers, logLevel: logLevel.NOTHING });
  const result = job.mode === 'produce' ? await produce(job, kafka) : await consume(job, kafka);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
