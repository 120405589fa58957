import { buildRecordBatch } from './records.js';

/**
 * End-of-transaction markers as Kafka writes them: a control batch (attributes transactional
 * and control), base sequence -1, one record whose key is the control record key (version
 * int16 0, type int16: 0 abort, 1 commit) and whose value is the end transaction marker
 * (version int16 0, coordinator epoch int32). Consumers read the key to drop aborted records.
 */
export const CONTROL_ABORT = 0;
export const CONTROL_COMMIT = 1;

export interface MarkerSpec {
  producerId: bigint;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  timestamp: bigint;
}

export function buildControlBatch(m: MarkerSpec): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(m.commit ? CONTROL_COMMIT : CONTROL_ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(m.coordinatorEpoch, 2);
  return buildRecordBatch({
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
    records: [{ key, value, timestamp: m.timestamp }],
  });
}

/** The control type of a control record key (CONTROL_ABORT / CONTROL_COMMIT), or -1 when it is not one. */
export function controlType(key: Buffer | null): number {
  if (!key || key.length < 4 || key.readInt16BE(0) !== 0) return -1;
  return key.readInt16BE(2);
}
