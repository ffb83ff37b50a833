// Garbage at the sockets: the server answers what it can, drops the rest, reports no
// errors of its own, and still answers a normal query afterwards. The smoke test, with a
// fixed seed; the big seeded run is fuzz.test.ts.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { answersOf, connectTcp, host, mutatedPacket, prng, queryBytes, rcode, startServer, tcpQuery, udpQuery, type Reply, type Running } from './fixtures.js';

let s: Running;
before(async () => {
  s = await startServer();
});
after(() => s.stop());

/** The kernel may drop datagrams while the server works through a flood: ask again. */
async function udpQueryWithRetries(port: number, message: Buffer, attempts = 5): Promise<Reply> {
  for (let i = 1; ; i++) {
    try {
      return await udpQuery(port, message);
    } catch (err) {
      if (i >= attempts) throw err;
    }
  }
}

test('2,000 random and mutated packets over UDP, then a normal query is answered correctly', async () => {
  const seed = 20_260_101;
  const rand = prng(seed);
  const socket = createSocket('udp4');
  socket.on('message', () => {}); // replies to the flood are not read for meaning
  const before = s.server.stats().queries;
  try {
    // In batches, each followed by a real query: the server must keep answering through the
    // flood, and the kernel's receive buffer never overflows, so nothing depends on timing.
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, () => {
          const packet = mutatedPacket(rand);
          return new Promise<void>((resolve, reject) => socket.send(packet, s.udpPort, host, (err) => (err ? reject(err) : resolve())));
        }),
      );
      const r = await udpQueryWithRetries(s.udpPort, queryBytes('api.shop.example.test', 'A', { id: batch }));
      assert.deepEqual([r.packet.id, r.rcode], [batch, rcode.NOERROR], `seed ${seed}, after batch ${batch}`);
    }
  } finally {
    socket.close();
  }

  const r = await udpQueryWithRetries(s.udpPort, queryBytes('www.shop.example.test', 'A', { id: 777 }));
  assert.deepEqual([r.packet.id, r.aa, r.rcode], [777, true, rcode.NOERROR]);
  assert.deepEqual(answersOf(r).map((a) => a.type === 'A' && a.data), ['203.0.113.10']);
  assert.ok(s.server.stats().queries >= before + 2000, 'the flood reached the server');
  assert.deepEqual(s.errors, [], `seed ${seed}: the server reported errors`);
});

test('random bytes over TCP do not hurt the next connection', async () => {
  const rand = prng(7);
  const socket = await connectTcp(s.tcpPort);
  socket.on('data', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {}); // the server may reset a connection it closed on garbage
  socket.end(Buffer.from(Array.from({ length: 10_000 }, () => Math.floor(rand() * 256))));
  await closed;

  const r = await tcpQuery(s.tcpPort, queryBytes('api.shop.example.test', 'A'));
  assert.deepEqual(answersOf(r).map((a) => a.type === 'A' && a.data), ['203.0.113.20']);
  assert.deepEqual(s.errors, []);
});
