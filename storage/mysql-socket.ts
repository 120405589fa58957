import { connect, type Socket } from 'node:net';
import { MysqlPacketReader } from './mysql-packet-reader.js';

export interface MysqlSocketTarget {
  host: string;
  port: number;
  socketPath?: string;
}

/**
 * A connection to MySQL for mysql2's `stream` option that reads in place (see
 * MysqlPacketReader): the socket's `onread` callback hands mysql2 whole packets as 'data'
 * events, which mysql2 parses without copying. mysql2 only listens to 'data', writes, pauses
 * and resumes, all of which work on an `onread` socket.
 */
export function connectMysqlSocket(target: MysqlSocketTarget, keepAliveInitialDelayMs: number): Socket {
  const reader = new MysqlPacketReader();
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
