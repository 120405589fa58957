import { connect, type Socket } from 'node:net';
import { InPlaceReader } from '../codec/primitives/in-place-reader.js';

export interface MysqlSocketTarget {
  host: string;
  port: number;
  socketPath?: string;
}

/**
 * Reads the MySQL client protocol (3-byte little-endian length, sequence id, payload) in
 * place: a packet larger than a 64 KiB slab, such as a row holding a 1 MiB record batch, is
 * read by the kernel straight into a buffer of exactly its size. Result sets are mostly small
 * packets (column definitions, short rows), several per slab.
 */
export function mysqlPacketReader(): InPlaceReader {
  return new InPlaceReader(
    { headerBytes: 4, unitBytes: (b, at) => 4 + (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) },
    { slabBytes: 64 * 1024, minReadBytes: 4 * 1024 },
  );
}

/**
 * A connection to MySQL for mysql2's `stream` option that reads in place: the socket's
 * `onread` callback hands mysql2 chunks of whole packets as 'data' events. mysql2 copies only
 * packets that span chunks, so it parses each row where it lies, and a stored batch reaches the
 * broker as a view of the buffer it was read into: no 64 KiB socket chunks and no reassembly
 * copy. mysql2 only listens to 'data', writes, pauses and resumes, all of which work on an
 * `onread` socket.
 */
export function connectMysqlSocket(target: MysqlSocketTarget, keepAliveInitialDelayMs: number): Socket {
  const reader = mysqlPacketReader();
  let socket: Socket | undefined;
  const onread = {
    buffer: () => reader.readTarget(),
    callback: (n: number) => {
      for (const chunk of reader.onRead(n)) socket!.emit('data', chunk);
      return true;
    },
  };
  socket = target.socketPath ? connect({ path: target.socketPath, onread }) : connect({ host: target.host, port: target.port, onread });
  if (!target.socketPath) {
    socket.setNoDelay(true);
    socket.once('connect', () => socket!.setKeepAlive(true, keepAliveInitialDelayMs));
  }
  return socket;
}
