// The TCP shell (RFC 7766): length-prefixed messages, several per connection and answered
// in order, an idle timeout, and a cap on connections. Each bound is designed: a message
// is at most 65,535 bytes by its prefix; a client that stops reading our replies stops
// being read (backpressure), so replies never pile up; connection number 257 is closed
// on arrival; a connection quiet for the idle timeout is closed.

import { createServer, type Server, type Socket } from 'node:net';
import { frame, FrameReader } from './framing.js';

/** Enough for every resolver that falls back to TCP at once on one node; file
 *  descriptors are the limit it protects. */
export const maxTcpConnections = 256;

export interface TcpShellOptions {
  readonly host: string;
  readonly port: number;
  readonly idleTimeoutMs: number;
  readonly handle: (message: Buffer, remoteAddress: string) => Buffer | null;
  readonly onError: (err: Error) => void;
}

export interface TcpShell {
  readonly port: number;
  close(): Promise<void>;
}

/** Connection resets and writes to a closed peer are how clients leave, not faults. */
const quietErrorCodes = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

export function listenTcp(opts: TcpShellOptions): Promise<TcpShell> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => serveConnection(socket, sockets, opts));
  // Node closes connections beyond this as they are accepted.
  server.maxConnections = maxTcpConnections;
  return new Promise<TcpShell>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port, host: opts.host, exclusive: true }, () => {
      server.off('error', reject);
      server.on('error', opts.onError);
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : opts.port;
      resolve({ port, close: () => closeServer(server, sockets) });
    });
  });
}

function serveConnection(socket: Socket, sockets: Set<Socket>, opts: TcpShellOptions): void {
  sockets.add(socket);
  const reader = new FrameReader();
  const remoteAddress = socket.remoteAddress ?? '';
  socket.setNoDelay(true); // replies are small and awaited: do not hold them back (Nagle)
  socket.setTimeout(opts.idleTimeoutMs); // reset by every read and write
  socket.on('timeout', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === undefined || !quietErrorCodes.has(err.code)) opts.onError(err);
  });
  socket.on('drain', () => socket.resume());
  // A client that half-closes has sent its last query: Node ends our side once the
  // replies are written (allowHalfOpen is off).
  socket.on('data', (chunk: Buffer) => {
    try {
      for (const message of reader.push(chunk)) {
        const reply = opts.handle(message, remoteAddress);
        if (reply === null) continue;
        // Our replies are bounded by the 65,535-byte limit respond() enforces.
        if (!socket.write(frame(reply))) socket.pause();
      }
    } catch (err) {
      opts.onError(err instanceof Error ? err : new Error(String(err)));
      socket.destroy();
    }
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    server.close(() => resolve());
  });
}
