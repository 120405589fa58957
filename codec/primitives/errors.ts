/** Thrown when bytes cannot be decoded: truncated input, a length larger than what is left, a bad varint. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}
