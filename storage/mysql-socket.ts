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
export function connectMysqlSocket(target: MysqlSocketTarget, keepAliveInitialDelayMs: number, watch?: SocketWatch): Socket {
  const reader = mysqlPacketReader();
  let socket: Socket | undefined;
  // Reply watchdog: set when a request is written with nothing read since; cleared by any byte read.
  let awaitingSince = 0;
  const onread = {
    buffer: () => reader.readTarget(),
    callback: (n: number) => {
      awaitingSince = 0;
      for (const chunk of reader.onRead(n)) socket!.emit('data', chunk);
      return true;
    },
  };
  socket = target.socketPath ? connect({ path: target.socketPath, onread }) : connect({ host: target.host, port: target.port, onread });
  if (!target.socketPath) {
    socket.setNoDelay(true);
    socket.once('connect', () => socket!.setKeepAlive(true, keepAliveInitialDelayMs));
  }
  if (watch?.sockets) {
    const set = watch.sockets;
    set.add(socket);
    socket.once('close', () => set.delete(socket!));
  }
  const limit = watch?.replyTimeoutMs ?? 0;
  if (limit > 0) {
    const s = socket;
    // One timer per socket, re-armed (refresh) when a request starts: no timer per query.
    const timer = setTimeout(() => check(), limit).unref();
    const check = (): void => {
      if (awaitingSince === 0 || s.destroyed) return;
      const waited = Date.now() - awaitingSince;
      if (waited >= limit) s.destroy(replyTimeoutError(limit));
      else timer.refresh();
    };
    const write = s.write.bind(s) as (...args: unknown[]) => boolean;
    s.write = ((...args: unknown[]) => {
      if (awaitingSince === 0) {
        awaitingSince = Date.now();
        timer.refresh();
      }
      return write(...args);
    }) as typeof s.write;
    s.once('close', () => clearTimeout(timer));
  }
  return socket;
}

/**
 * Bounds on a connection's socket. `replyTimeoutMs`: a request written and no byte of any
 * reply read for this long destroys the socket (the driver fails the query in progress with a
 * fatal error): a paused or hung server never answers, and TCP keepalive does not notice it
 * (its kernel still acknowledges). A server that stops in the middle of a reply is not caught
 * by this (the connection looks idle); failover's pool swap destroys those (`sockets`).
 * `sockets`: every open socket of a pool, so a pool swap can destroy them all.
 */
export interface SocketWatch {
  replyTimeoutMs?: number;
  sockets?: Set<Socket>;
}

export function replyTimeoutError(ms: number): Error {
  return Object.assign(new Error(`MySQL server did not answer within ${ms} ms (mysql.query.timeout.ms)`), { code: 'ETIMEDOUT', fatal: true });
}
