/** Command-line options of `npm run bench` (after `--`). */
export interface BenchOptions {
  quick: boolean;
  /** Seconds per throughput phase. */
  duration: number;
  /**
   * Rounds of the paired phases (ceiling/naive/replayer, SELECT ceiling/raw backlog Fetch,
   * produce latency/commit latency), interleaved so each ratio is taken within one round.
   */
  rounds: number;
  recordBytes: number;
  batchRecords: number;
  partitions: number;
  /** Replayer connections and requests in flight per connection. */
  producers: number;
  inFlight: number;
  /** Raw MySQL connections for the ceilings. */
  mysqlConnections: number;
  kafkajsProducers: number;
  kcatRecords: number;
  /** kcat processes producing at once (each kcatRecords / kcatProcs records, all partitions). */
  kcatProcs: number;
  sweepPartitions: number[];
  sweepProducers: number[];
  sweepSeconds: number;
  sweepBatchRecords: number;
  idleConnections: number;
  /** Latency phase rate in MB/s (null = half the replayer's max), so runs can be compared at the same load. */
  latencyRate: number | null;
  /** Phases to run (default all). */
  only: Set<string> | null;
  /** Write a V8 CPU profile of the broker into this directory. */
  profileDir: string | null;
  /** Broker settings (--set key=value), e.g. to compare group.commit.max.delay.ms. */
  brokerSettings: Record<string, string>;
  /** Extra node flags for the broker process (--node-arg, repeatable). */
  brokerNodeArgs: string[];
  /** Extra mariadbd arguments for the bench's server (--mariadb-arg, repeatable). */
  mariadbArgs: string[];
  note: string;
}

export const PHASES = ['ceiling', 'naive', 'replayer', 'consume', 'kcat', 'kafkajs', 'idempotence', 'transactions', 'tail', 'latency', 'sweep', 'idle', 'tcp', 'small', 'scale'] as const;

const USAGE = `usage: npm run bench -- [--quick] [--duration S] [--rounds N] [--record-bytes N] [--batch-records N]
  [--partitions N] [--producers N] [--in-flight N] [--mysql-connections N] [--kafkajs-producers N]
  [--kcat-records N] [--kcat-procs N] [--sweep-partitions 1,10,100,1000] [--sweep-producers 1,4,16,64]
  [--sweep-seconds S] [--sweep-batch-records N] [--idle-connections N] [--latency-rate MBps]
  [--only ${PHASES.join(',')}] [--profile DIR] [--set broker.key=value] [--node-arg FLAG] [--mariadb-arg FLAG] [--note TEXT]`;

export function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const o: BenchOptions = {
    quick,
    duration: quick ? 2 : 10,
    rounds: quick ? 1 : 3,
    recordBytes: 1024,
    batchRecords: 1000,
    partitions: 8,
    producers: 8,
    inFlight: 4,
    mysqlConnections: 4,
    kafkajsProducers: 4,
    kcatRecords: quick ? 40_000 : 2_000_000,
    kcatProcs: 2,
    sweepPartitions: quick ? [1, 100, 1000] : [1, 10, 100, 1000],
    sweepProducers: quick ? [1, 16] : [1, 4, 16, 64],
    sweepSeconds: quick ? 1 : 4,
    sweepBatchRecords: 100,
    idleConnections: 1000,
    latencyRate: null,
    only: null,
    profileDir: null,
    brokerSettings: {},
    brokerNodeArgs: [],
    mariadbArgs: [],
    note: '',
  };
  const num = (v: string | undefined, flag: string): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number\n${USAGE}`);
    return n;
  };
  const list = (v: string | undefined, flag: string): number[] => (v ?? '').split(',').map((x) => num(x, flag));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--quick': break;
      case '--duration': o.duration = num(v, a); i++; break;
      case '--rounds': o.rounds = Math.round(num(v, a)); i++; break;
      case '--record-bytes': o.recordBytes = num(v, a); i++; break;
      case '--batch-records': o.batchRecords = num(v, a); i++; break;
      case '--partitions': o.partitions = num(v, a); i++; break;
      case '--producers': o.producers = num(v, a); i++; break;
      case '--in-flight': o.inFlight = num(v, a); i++; break;
      case '--mysql-connections': o.mysqlConnections = num(v, a); i++; break;
      case '--kafkajs-producers': o.kafkajsProducers = num(v, a); i++; break;
      case '--kcat-records': o.kcatRecords = num(v, a); i++; break;
      case '--kcat-procs': o.kcatProcs = num(v, a); i++; break;
      case '--sweep-partitions': o.sweepPartitions = list(v, a); i++; break;
      case '--sweep-producers': o.sweepProducers = list(v, a); i++; break;
      case '--sweep-seconds': o.sweepSeconds = num(v, a); i++; break;
      case '--sweep-batch-records': o.sweepBatchRecords = num(v, a); i++; break;
      case '--idle-connections': o.idleConnections = num(v, a); i++; break;
      case '--latency-rate': o.latencyRate = num(v, a); i++; break;
      case '--only': {
        const names = (v ?? '').split(',');
        for (const n of names) if (!(PHASES as readonly string[]).includes(n)) throw new Error(`unknown phase ${n}\n${USAGE}`);
        o.only = new Set(names);
        i++;
        break;
      }
      case '--profile': o.profileDir = v ?? null; i++; break;
      case '--set': {
        const eq = (v ?? '').indexOf('=');
        if (eq <= 0) throw new Error(`--set expects key=value\n${USAGE}`);
        o.brokerSettings[v!.slice(0, eq)] = v!.slice(eq + 1);
        i++;
        break;
      }
      case '--node-arg': if (!v) throw new Error(`--node-arg needs a value\n${USAGE}`); o.brokerNodeArgs.push(v); i++; break;
      case '--mariadb-arg': if (!v) throw new Error(`--mariadb-arg needs a value\n${USAGE}`); o.mariadbArgs.push(v); i++; break;
      case '--note': o.note = v ?? ''; i++; break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return o;
}
