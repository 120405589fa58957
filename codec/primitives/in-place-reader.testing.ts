/** Test support: drives a reader that chooses its read targets as a socket with `onread` would. */
export interface ReadTargetReader {
  readTarget(): Buffer;
  onRead(n: number): Buffer[];
}

/** Plays `stream` into the reader: each read fills at most `readSize(i)` bytes of the read target. */
export function playInto(reader: ReadTargetReader, stream: Buffer, readSize: (i: number) => number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < stream.length; i++) {
    const target = reader.readTarget();
    if (target.length === 0) throw new Error('empty read target');
    const n = Math.min(target.length, readSize(i), stream.length - at);
    stream.copy(target, 0, at, at + n);
    at += n;
    out.push(...reader.onRead(n));
  }
  return out;
}
