// The floor under any DNS server written on node:dgram: a UDP socket that answers each
// datagram with the datagram itself, QR bit set — no parsing, no lookup, no encoding. What
// this process reaches is the most a single-threaded node:dgram server can reach on this
// machine, whatever its DNS code does; the benchmark runs it as a reference, not a contender.
//
//   node bench/dns/udp-floor.mjs [--host 127.0.0.1] [--port 0]
//
// Prints {"ready":true,"port":N,"pid":P} on stdout; stops on SIGTERM, SIGINT or stdin close.

import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } } });

const socket = createSocket({ type: 'udp4' });
socket.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  const reply = Buffer.from(msg); // a copy, as a real server builds a new reply
  reply[2] |= 0x80;
  socket.send(reply, rinfo.port, rinfo.address);
});
socket.bind({ port: Number(args.port), address: args.host, exclusive: true }, () => {
  process.stdout.write(`${JSON.stringify({ ready: true, host: args.host, port: socket.address().port, pid: process.pid })}\n`);
});

const stop = () => socket.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
