// The TCP bound on connections: the 257th concurrent connection is closed on arrival, and
// once one closes there is room again.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { maxTcpConnections } from '../../src/dns/tcp.js';
import { connectTcp, parseReply, queryBytes, rcode, readFrames, framed, replyTimeoutMs, startServer, tcpQuery, type Running } from './fixtures.js';

let s: Running;
const open: Socket[] = [];
before(async () => {
  s = await startServer();
});
after(async () => {
  for (const socket of open) socket.destroy();
  await s.stop();
});

function closedByServer(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), replyTimeoutMs);
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume();
  });
}

test(`beyond ${maxTcpConnections} concurrent connections, new ones are closed; old ones keep working`, async () => {
  for (let i = 0; i < maxTcpConnections; i++) open.push(await connectTcp(s.tcpPort));
  // Prove the server accepted them all (accepts are in arrival order) by querying the last.
  const last = open[open.length - 1]!;
  const replies = readFrames(last, 1);
  last.write(framed(queryBytes('www.shop.example.test', 'A', { id: 9 })));
  assert.equal(parseReply((await replies)[0]!).packet.id, 9);

  const extra = await connectTcp(s.tcpPort); // the kernel completes the handshake; Node then closes it
  assert.equal(await closedByServer(extra), true);

  open.shift()!.destroy();
  // The server sees the close asynchronously: retry until the slot is free.
  let r;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      r = await tcpQuery(s.tcpPort, queryBytes('www.shop.example.test', 'A'));
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  assert.equal(r?.rcode, rcode.NOERROR);
});
