import type { Logger } from 'pino';
import { ErrorCode } from '../../codec/error-codes.js';

/**
 * The transaction coordinator (docs/transactions.md): producer ids for idempotent producers and
 * the state of transactional ids. This file: InitProducerId without a transactional id.
 */

export interface ProducerIdAndEpoch {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

export interface TransactionCoordinatorOptions {
  /** A new producer id from MySQL, unique across brokers and restarts. */
  allocateProducerId(): Promise<bigint>;
  logger: Logger;
}

export class TransactionCoordinator {
  constructor(private readonly options: TransactionCoordinatorOptions) {}

  /**
   * InitProducerId without a transactional id: as Kafka, always a new producer id with epoch 0,
   * whatever id and epoch the producer sends (KIP-360's bump applies to transactional ids).
   */
  async initIdempotent(): Promise<ProducerIdAndEpoch> {
    try {
      return { errorCode: ErrorCode.NONE, producerId: await this.options.allocateProducerId(), producerEpoch: 0 };
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'producer id allocation failed');
      return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
    }
  }

  async initTransactional(_id: string, _timeoutMs: number, _producerId: bigint, _epoch: number, _version: number): Promise<ProducerIdAndEpoch> {
    return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1n, producerEpoch: -1 };
  }
}
