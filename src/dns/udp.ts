// The UDP shell: one socket, one reply per datagram, errors reported and never thrown.
// respond() is synchronous, so the kernel's receive buffer is the only queue; when it is
// full the kernel drops, which is what a DNS client expects of UDP.

import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
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
  const socket = createSocket({ type: isIP(opts.host) === 6 ? 'udp6' : 'udp4', lookup: literalLookup() });
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
    // No completion callback: with one, node:dgram allocates a send request and calls back
    // for every datagram (bench/dns: a measurable share of the hot path). Without one, node
    // documents a failed send as the socket's 'error' event (onError). Under load a failed
    // send is mostly a full socket buffer: a lost datagram, which UDP allows and the client
    // retries.
    socket.send(reply, port, address);
  } catch (err) {
    opts.onError(err instanceof Error ? err : new Error(String(err)));
  }
}

/** node:dgram resolves every send's address through `lookup`; dns.lookup answers an IP
 *  literal a tick later, so each reply would wait for the next tick. We bind to an IP
 *  address and reply to the address a datagram came from, both literals: hand them back at
 *  once. Anything else (never seen here) still goes to dns.lookup. */
function literalLookup(): NonNullable<SocketOptions['lookup']> {
  return (hostname, options, callback) => {
    const literal = isIP(hostname); // what dns.lookup answers for a literal, without its tick
    if (literal !== 0) return callback(null, hostname, literal);
    dnsLookup(hostname, options, callback);
  };
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
