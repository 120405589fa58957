import { Socket, type SocketConstructorOpts } from 'node:net';

/**
 * Re-wraps an accepted connection in a socket that reads into buffers the caller chooses
 * (`onread` with a buffer function), which `net.Server` cannot do for accepted sockets. The
 * server must be created with `pauseOnConnect`, so nothing has been read yet. This relies on
 * the accepted socket's handle (`_handle`) and the `handle` option of `net.Socket`, both
 * undocumented; when the handle is not there, it returns null and the caller keeps the
 * accepted socket with 'data' events.
 */
export function withInPlaceReads(accepted: Socket, readTarget: () => Buffer, onRead: (n: number) => void): Socket | null {
  const husk = accepted as unknown as { _handle?: object | null };
  const handle = husk._handle;
  if (!handle || typeof handle !== 'object') return null;
  husk._handle = null;
  // Without its handle, destroying the old socket closes nothing; it only leaves the server's count.
  accepted.destroy();
  const options = {
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: readTarget,
      callback: (n: number) => {
        onRead(n);
        return true;
      },
    },
  };
  return new Socket(options as SocketConstructorOpts);
}
