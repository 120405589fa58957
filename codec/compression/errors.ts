import { ErrorCode, KafkaError } from '../error-codes.js';

/** Default bound on the bytes one decompression may produce (a zip bomb fails cleanly past it). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export function corrupt(codec: string, message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${codec}: ${message}`);
}

export function tooLarge(codec: string, maxBytes: number): KafkaError {
  return corrupt(codec, `decompressed data exceeds ${maxBytes} bytes`);
}
