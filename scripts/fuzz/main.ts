/**
 * `npm run fuzz -- [--frames N] [--minutes M] [--seed S] [--connections C]`: the long fuzz run
 * (default 1,000,000 frames, at most 60 minutes) against a broker process on a private managed
 * MariaDB, with the figures the short suite in `npm test` does not have time for. Exits 1 when
 * the broker died, its memory passed the bound, or the well-behaved producer saw an error.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { startManagedMariadb } from '../../storage/managed-mariadb.js';
import { startBrokerProcess } from '../bench/broker-process.js';
import { FUZZ_RSS_BOUND_MB, fuzzTrial } from './harness.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '1000000' },
    minutes: { type: 'string', default: '60' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    connections: { type: 'string', default: '16' },
  },
});
const frames = Number(values.frames);
const minutes = Number(values.minutes);
const seed = Number(values.seed);
const connections = Number(values.connections);
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mysql-fuzz-'));
const db = await startManagedMariadb({ dataDir, port: 0 });
let failed = false;
try {
  const broker = await startBrokerProcess({ mysqlUrl: db.url, settings: { 'log.level': 'error' }, log });
  log(`broker pid ${broker.pid} on 127.0.0.1:${broker.port}; seed ${seed}, ${frames} frames, ${minutes} min at most, ${connections} connections`);
  const progress = setInterval(() => log('fuzzing...'), 60_000);
  const report = await fuzzTrial({
    host: '127.0.0.1',
    port: broker.port,
    pid: broker.pid,
    seed,
    frames,
    durationMs: minutes * 60_000,
    connections,
    log,
  });
  clearInterval(progress);
  let alive = true;
  try {
    process.kill(broker.pid, 0);
  } catch {
    alive = false;
  }
  const s = report.stats;
  log(`frames ${s.frames} in ${report.seconds.toFixed(0)} s (${(s.frames / report.seconds).toFixed(0)}/s): answered ${s.answered}, closed ${s.closed}, unanswered ${s.unanswered}, oversized ${s.oversizedResponses}, connect failures ${s.connectFailures}`);
  log(`largest response ${s.largestResponse} B; APIs exercised ${s.byApi.size}`);
  log(`broker RSS start ${report.rssStartMb.toFixed(0)} MB, max ${report.rssMaxMb.toFixed(0)} MB, end ${report.rssEndMb.toFixed(0)} MB (bound ${FUZZ_RSS_BOUND_MB} MB)`);
  log(`survivor producer: ${report.survivor.acknowledged} acknowledged, ${report.survivor.errors.length} errors ${report.survivor.errors.slice(0, 3).join('; ')}`);
  log(`reproduction: error code ${report.reproduction.errorCode} in ${report.reproduction.ms} ms`);
  failed = !alive || report.rssMaxMb > FUZZ_RSS_BOUND_MB || report.survivor.errors.length > 0 || s.oversizedResponses > 0;
  log(failed ? 'FAILED' : 'passed');
  await broker.stop();
} finally {
  await db.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
