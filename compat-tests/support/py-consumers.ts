/**
 * Python consumers in child processes for the group tests: a line protocol (JSON lines on
 * stdout, "close" on stdin) and the confluent-kafka-python (librdkafka) consumer script.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A line a consumer script prints. */
export interface Line {
  assigned?: number[];
  revoked?: number[];
  value?: string;
  partition?: number;
  offset?: number;
  error?: string;
  fatal?: boolean;
  done?: boolean;
}

/**
 * A Python consumer in a child process printing JSON lines; it stops after `expect` records
 * (0: when told "close" on stdin), committing each record synchronously before printing it.
 */
export class PyConsumer {
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  private buffered = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    child.stdout!.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const text = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (text.startsWith('{')) this.lines.push(JSON.parse(text) as Line);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  values(): string[] {
    return this.lines.filter((l) => l.value !== undefined).map((l) => l.value!);
  }

  /** The latest assignment (librdkafka and kafka-python report each one in full). */
  assigned(): number[] | null {
    for (let i = this.lines.length - 1; i >= 0; i--) if (this.lines[i]!.assigned) return this.lines[i]!.assigned!;
    return null;
  }

  count(kind: 'assigned' | 'revoked'): number {
    return this.lines.filter((l) => l[kind] !== undefined).length;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.write('close\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export const CONTROL = String.raw`
import json, os, sys, threading, time
closing = threading.Event()
def watch_stdin():
    for line in sys.stdin:
        if line.strip() == 'close':
            break
    closing.set()
threading.Thread(target=watch_stdin, daemon=True).start()
def out(o):
    print(json.dumps(o), flush=True)
`;

/** confluent-kafka-python: argv = config JSON, topic, expected record count (0 = until "close"), deadline s. */
export const CONFLUENT_SCRIPT = CONTROL + String.raw`
from confluent_kafka import Consumer, KafkaError, KafkaException
conf = json.loads(sys.argv[1]); topic = sys.argv[2]; expect = int(sys.argv[3]); deadline = time.time() + float(sys.argv[4])
fatal = threading.Event()
def on_error(err):
    # librdkafka raises a fatal error as an error event (or consumer error) with code _FATAL.
    is_fatal = err.fatal() or err.code() == KafkaError._FATAL
    out({'error': str(err), 'fatal': is_fatal})
    if is_fatal:
        fatal.set()
conf.update({'enable.auto.commit': False, 'auto.offset.reset': 'earliest', 'error_cb': on_error})
c = Consumer(conf)
c.subscribe([topic],
            on_assign=lambda consumer, parts: out({'assigned': sorted(p.partition for p in parts)}),
            on_revoke=lambda consumer, parts: out({'revoked': sorted(p.partition for p in parts)}))
seen = 0
code = 0
while not closing.is_set() and (expect == 0 or seen < expect):
    if time.time() > deadline:
        out({'error': 'deadline'}); code = 3; break
    msg = c.poll(0.2)
    if fatal.is_set():
        code = 4; break
    if msg is None:
        continue
    if msg.error():
        on_error(msg.error())
        if fatal.is_set():
            code = 4; break
        continue
    c.commit(message=msg, asynchronous=False)
    seen += 1
    out({'value': msg.value().decode(), 'partition': msg.partition(), 'offset': msg.offset()})
try:
    c.close()
except KafkaException as e:
    out({'error': str(e)})
out({'done': True})
sys.exit(code)
`;

