/**
 * The response budget of one Fetch, applied after its partitions were read concurrently.
 *
 * Read one after another, partition i of a Fetch would be read with
 * `maxBytes = max(0, min(partitionMaxBytes_i, remaining))` and `minOneBatch = (nothing taken
 * yet)` (KIP-74: the first batch of the first partition with data goes out even when too
 * large). Read concurrently, every partition is read with the most it could be given,
 * `max(0, min(partitionMaxBytes_i, requestMaxBytes))`, and `minOneBatch = true`; then, in
 * request order, each result is cut to what the sequential read would have returned: the
 * longest prefix of its batches within the budget left, or its first batch alone when nothing
 * was taken before. A read returns the longest prefix of the log's batches (from the fetch
 * offset, before the max offset) within its byte limit, so the cut result equals the
 * sequential read whenever the data did not change between the reads. Surplus batches of
 * later partitions are dropped.
 */

/** What one partition's read gave: its batches, or a failure (reported per partition). */
export type PartitionReadOutcome = { batches: Buffer[] } | { error: unknown } | null;

/** The byte limit to read a partition with when all partitions are read at once. */
export function concurrentReadLimit(partitionMaxBytes: number, requestMaxBytes: number): number {
  return Math.max(0, Math.min(partitionMaxBytes, requestMaxBytes));
}

export interface AssembledPartition {
  batches: Buffer[];
  bytes: number;
}

/**
 * Applies the request budget, in request order, to reads done with `concurrentReadLimit` and
 * `minOneBatch: true`. `null` outcomes (partitions not read: nothing to fetch) and failures take
 * no budget and give `null`. Returns one entry per outcome and the total bytes.
 */
export function assembleFetch(
  outcomes: readonly PartitionReadOutcome[],
  partitionMaxBytes: readonly number[],
  requestMaxBytes: number,
): { partitions: (AssembledPartition | null)[]; total: number } {
  let remaining = requestMaxBytes;
  let total = 0;
  const partitions: (AssembledPartition | null)[] = new Array(outcomes.length);
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i];
    if (!outcome || !('batches' in outcome)) {
      partitions[i] = null;
      continue;
    }
    const limit = Math.max(0, Math.min(partitionMaxBytes[i]!, remaining));
    const minOneBatch = total === 0;
    const all = outcome.batches;
    let n = 0;
    let bytes = 0;
    while (n < all.length) {
      const size = all[n]!.length;
      if (bytes + size > limit && !(n === 0 && minOneBatch)) break;
      bytes += size;
      n++;
    }
    partitions[i] = { batches: n === all.length ? all : all.slice(0, n), bytes };
    total += bytes;
    remaining -= bytes;
  }
  return { partitions, total };
}
