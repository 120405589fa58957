/**
 * Fuzz suite (seeded, bounded in time): the built broker in a child process, on its own test
 * database, gets the 38-byte CreatePartitions request that once exhausted its memory, then
 * mutated frames of every API and version it serves over 8 connections for 45 s, while a
 * kafkajs producer keeps producing with acks=all. The broker must stay up, answer the
 * reproduction with an error, keep its resident memory under the stated bound, and the
 * producer must see no error. The long run (10^6 frames) is `npm run fuzz`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../codec/error-codes.js';
import { FUZZ_RSS_BOUND_MB, fuzzTrial, type TrialReport } from '../scripts/fuzz/harness.js';
import { spawnBroker, type BrokerProcess } from './support/broker.js';
import { createTestDatabase, dropTestDatabase } from '../testing/mysql.js';

const SEED = 20261204;
const FUZZ_MS = 45_000;

let mysqlUrl: string;
let broker: BrokerProcess;
let report: TrialReport;

beforeAll(async () => {
  mysqlUrl = await createTestDatabase('fuzz');
  broker = await spawnBroker({ 'mysql.url': mysqlUrl, 'group.initial.rebalance.delay.ms': 0 });
  report = await fuzzTrial({ host: '127.0.0.1', port: broker.port, pid: broker.child.pid!, seed: SEED, frames: 1_000_000, durationMs: FUZZ_MS });
  const { byApi, ...counts } = report.stats;
  console.log(`fuzz: ${JSON.stringify(counts)}; RSS ${report.rssStartMb.toFixed(0)} -> max ${report.rssMaxMb.toFixed(0)} MB; survivor ${report.survivor.acknowledged} acknowledged`);
}, FUZZ_MS + 180_000);

afterAll(async () => {
  await broker?.terminate();
  if (mysqlUrl) await dropTestDatabase(mysqlUrl);
});

describe('fuzzed frames of every served API', () => {
  it('refuses the 8,388,611-partition CreatePartitions request with an error, at once', () => {
    expect(report.reproduction.closed).toBe(false);
    expect([ErrorCode.INVALID_PARTITIONS, ErrorCode.POLICY_VIOLATION]).toContain(report.reproduction.errorCode);
    expect(report.reproduction.ms).toBeLessThan(10_000);
  });

  it('survives every frame: still running, memory under the bound, no response over 64 MiB', () => {
    expect(broker.child.exitCode).toBeNull();
    expect(broker.child.signalCode).toBeNull();
    expect(report.rssMaxMb).toBeLessThan(FUZZ_RSS_BOUND_MB);
    expect(report.stats.oversizedResponses).toBe(0);
    // Every served API got frames; most were answered or closed, not left hanging.
    expect(report.servedApis).toBeGreaterThanOrEqual(25);
    expect(report.stats.byApi.size).toBe(report.servedApis);
    expect(report.stats.frames).toBeGreaterThan(5_000);
    expect(report.stats.answered + report.stats.closed).toBeGreaterThan(report.stats.frames * 0.9);
  });

  it('keeps serving a well-behaved producer throughout', () => {
    expect(report.survivor.errors).toEqual([]);
    expect(report.survivor.acknowledged).toBeGreaterThan(100);
  });
});
