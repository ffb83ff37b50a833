// The UDP shell: one socket, one reply per datagram, errors reported and never thrown.
// respond() is synchronous, so the kernel's receive buffer is the only queue; when it is
// full the kernel drops, which is what a DNS client expects of UDP.

import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

export interface UdpShellOptions {
  readonly host: string;
  readonly port: number;
  /** Bytes in, reply bytes out or null for silence. Must not throw; guarded anyway. */
  readonly handle: (message: Buffer, remoteAddress: string) => Buffer | null;
  readonly onError: (err: Error) => void;
}

export interface UdpShell {
  readonly port: number;
  close(): Promise<void>;
}

export function bindUdp(opts: UdpShellOptions): Promise<UdpShell> {
  const socket = createSocket({ type: isIP(opts.host) === 6 ? 'udp6' : 'udp4' });
  return new Promise<UdpShell>((resolve, reject) => {
    const onBindError = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', onBindError);
    socket.bind({ port: opts.port, address: opts.host, exclusive: true }, () => {
      socket.off('error', onBindError);
      socket.on('error', opts.onError);
      socket.on('message', (message, rinfo) => onMessage(socket, opts, message, rinfo.address, rinfo.port));
      resolve({ port: socket.address().port, close: () => closeSocket(socket) });
    });
  });
}

function onMessage(socket: Socket, opts: UdpShellOptions, message: Buffer, address: string, port: number): void {
  try {
    // Port 0 cannot be replied to (and send() would throw): such a datagram is forged.
    if (port === 0) return;
    const reply = opts.handle(message, address);
    if (reply === null) return;
    socket.send(reply, port, address, (err) => {
      if (err) opts.onError(err);
    });
  } catch (err) {
    opts.onError(err instanceof Error ? err : new Error(String(err)));
  }
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
