import v8 from 'node:v8';
import { ConfigError } from '../config/broker-config.js';

/**
 * V8's heap growing factor for the broker process (`v8.heap.growing.percent`).
 *
 * Why: V8 starts a full (mark-compact) collection when the old generation plus the external
 * (Buffer) memory allocated since the last one reaches a limit set at about twice what
 * survived. The broker's live heap is small (~23 MB under produce load) while every produced
 * MB arrives in a 1 MB request buffer that the tail cache and in-flight transactions keep long
 * enough to outlive a young collection: the limit was reached every ~30 MB produced, i.e.
 * ~30 full collections per GB, most of the broker's GC time (docs/benchmarks.md, issue 19).
 * A factor of 4 (300%) lets ~3x the live heap of garbage build up between them instead.
 *
 * The flag is process-wide and read by V8 at each collection, so setting it at start-up
 * takes effect; 0 leaves V8's own choice (and a flag given on the command line alone).
 */
export function applyHeapGrowingPercent(value: string | null): number {
  const percent = value === null || value === '' ? 0 : Number(value);
  if (!Number.isInteger(percent) || percent < 0 || percent > 1000) {
    throw new ConfigError(`'v8.heap.growing.percent' must be an integer from 0 to 1000, got ${value}`);
  }
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
