// The server over real sockets on 127.0.0.1: every reply is decoded and its header flags,
// rcode and sections checked, not just its addresses.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SoaData } from 'dns-packet';
import {
  answersOf,
  connectTcp,
  ecsOpt,
  framed,
  opt,
  optOf,
  parseReply,
  queryBytes,
  rcode,
  readFrames,
  replyTimeoutMs,
  startServer,
  tcpQuery,
  udpExchange,
  udpQuery,
  type Running,
} from './fixtures.js';

describe('dns server: answers from the zone', () => {
  let s: Running;
  before(async () => {
    s = await startServer();
  });
  after(() => s.stop());

  test('binds UDP and TCP to the same port', () => {
    assert.equal(s.udpPort, s.tcpPort);
    assert.ok(s.udpPort > 0);
  });

  test('A for a service host: the policy answers, AA set, RA clear, RD copied, question echoed as asked', async () => {
    s.calls.length = 0;
    const r = await udpQuery(s.udpPort, queryBytes('WwW.Shop.EXAMPLE.test', 'A', { id: 4242 }));
    assert.equal(r.packet.id, 4242);
    assert.deepEqual([r.qr, r.aa, r.ra, r.rd, r.tc, r.rcode], [true, true, false, true, false, rcode.NOERROR]);
    assert.deepEqual(r.packet.questions, [{ name: 'WwW.Shop.EXAMPLE.test', type: 'A', class: 'IN' }]);
    assert.deepEqual(answersOf(r).map((a) => [a.type, a.name, 'ttl' in a ? a.ttl : null, a.type === 'A' ? a.data : null]), [['A', 'WwW.Shop.EXAMPLE.test', 30, '203.0.113.10']]);
    assert.equal(r.packet.authorities?.length, 0);
    assert.equal(optOf(r), undefined, 'no OPT in a reply to a query without one');
    assert.deepEqual(s.calls, [{ name: 'www', family: 4, client: { ip: '127.0.0.1', prefixLength: 32, source: 'resolver' } }]);
  });

  test('RD clear in the query stays clear in the reply', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('api.shop.example.test', 'A', { rd: false }));
    assert.equal(r.rd, false);
    assert.equal(r.rcode, rcode.NOERROR);
  });

  test('A with ECS: the policy sees the client subnet, the reply echoes it with a scope', async () => {
    s.calls.length = 0;
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { opt: ecsOpt('81.2.69.160', 24) }));
    assert.equal(r.rcode, rcode.NOERROR);
    assert.deepEqual(s.calls.map((c) => c.client), [{ ip: '81.2.69.0', prefixLength: 24, source: 'ecs' }]);
    const o = optOf(r);
    assert.ok(o, 'the reply carries an OPT');
    assert.equal(o.udpPayloadSize, 1232);
    assert.equal(o.ednsVersion, 0);
    const ecs = o.options.find((x) => x.code === 8);
    assert.ok(ecs && 'sourcePrefixLength' in ecs);
    assert.deepEqual([ecs.family, ecs.sourcePrefixLength, ecs.scopePrefixLength, ecs.ip], [1, 24, 24, '81.2.69.0']);
  });

  test('ECS narrower than /24 is used as sent, masked, and the scope is capped at /24', async () => {
    s.calls.length = 0;
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { opt: ecsOpt('81.2.69.161', 31) }));
    assert.deepEqual(s.calls.map((c) => c.client), [{ ip: '81.2.69.160', prefixLength: 31, source: 'ecs' }]);
    const ecs = optOf(r)?.options.find((x) => x.code === 8);
    assert.ok(ecs && 'sourcePrefixLength' in ecs);
    assert.deepEqual([ecs.sourcePrefixLength, ecs.scopePrefixLength], [31, 24]);
  });

  test('IPv6 ECS: masked to the source prefix, scope capped at /56', async () => {
    s.calls.length = 0;
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { opt: ecsOpt('2001:db8:1234:5678::1', 64) }));
    assert.deepEqual(s.calls.map((c) => c.client), [{ ip: '2001:db8:1234:5678::', prefixLength: 64, source: 'ecs' }]);
    const ecs = optOf(r)?.options.find((x) => x.code === 8);
    assert.ok(ecs && 'sourcePrefixLength' in ecs);
    assert.deepEqual([ecs.family, ecs.sourcePrefixLength, ecs.scopePrefixLength], [2, 64, 56]);
  });

  test('ECS with source prefix 0: the resolver address decides, scope 0', async () => {
    s.calls.length = 0;
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { opt: ecsOpt('0.0.0.0', 0) }));
    assert.deepEqual(s.calls.map((c) => c.client), [{ ip: '127.0.0.1', prefixLength: 32, source: 'resolver' }]);
    const ecs = optOf(r)?.options.find((x) => x.code === 8);
    assert.ok(ecs && 'sourcePrefixLength' in ecs);
    assert.deepEqual([ecs.sourcePrefixLength, ecs.scopePrefixLength], [0, 0]);
  });

  test('ECS on an answer the policy does not decide (SOA) gets scope 0', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('shop.example.test', 'SOA', { opt: ecsOpt('81.2.69.160', 24) }));
    const ecs = optOf(r)?.options.find((x) => x.code === 8);
    assert.ok(ecs && 'sourcePrefixLength' in ecs);
    assert.deepEqual([ecs.sourcePrefixLength, ecs.scopePrefixLength], [24, 0]);
  });

  test('AAAA for a host with no IPv6: NODATA, the SOA in authority with the negative TTL', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'AAAA'));
    assert.deepEqual([r.aa, r.tc, r.rcode], [true, false, rcode.NOERROR]);
    assert.equal(r.packet.answers?.length, 0);
    const soa = r.packet.authorities ?? [];
    assert.equal(soa.length, 1);
    assert.equal(soa[0]!.type, 'SOA');
    assert.equal(soa[0]!.name, 'shop.example.test');
    // RFC 2308: min(SOA TTL 3600, minimum 300)
    assert.equal('ttl' in soa[0]! ? soa[0].ttl : null, 300);
  });

  test('a name in the zone that does not exist: NXDOMAIN with the SOA', async () => {
    for (const name of ['nope.shop.example.test', 'deeper.www.shop.example.test']) {
      const r = await udpQuery(s.udpPort, queryBytes(name, 'A'));
      assert.deepEqual([r.aa, r.rcode], [true, rcode.NXDOMAIN], name);
      assert.equal(r.packet.answers?.length, 0);
      assert.deepEqual(r.packet.authorities?.map((a) => a.type), ['SOA']);
    }
  });

  test('names outside the zone are REFUSED: not an open resolver', async () => {
    for (const name of ['example.com', 'example.test', 'shop.example.test.evil.com']) {
      const r = await udpQuery(s.udpPort, queryBytes(name, 'A'));
      assert.deepEqual([r.qr, r.aa, r.ra, r.rcode], [true, false, false, rcode.REFUSED], name);
      assert.equal(r.packet.answers?.length, 0);
      assert.equal(r.packet.authorities?.length, 0);
    }
  });

  test('SOA at the apex', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('shop.example.test', 'SOA'));
    assert.deepEqual([r.aa, r.rcode], [true, rcode.NOERROR]);
    const [soa] = answersOf(r, 'SOA');
    assert.ok(soa && soa.type === 'SOA');
    const data: SoaData = soa.data;
    assert.deepEqual(data, { mname: 'ns1.shop.example.test', rname: 'hostmaster.shop.example.test', serial: 2026010101, refresh: 7200, retry: 900, expire: 1_209_600, minimum: 300 });
    assert.equal(soa.ttl, 3600);
  });

  test('NS at the apex, with the nameservers\' addresses as glue', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('shop.example.test', 'NS'));
    assert.deepEqual([r.aa, r.rcode], [true, rcode.NOERROR]);
    assert.deepEqual(answersOf(r).map((a) => [a.type, a.name, 'data' in a ? a.data : null]), [
      ['NS', 'shop.example.test', 'ns1.shop.example.test'],
      ['NS', 'shop.example.test', 'ns2.shop.example.test'],
    ]);
    const glue = (r.packet.additionals ?? []).map((a) => [a.type, a.name, 'data' in a ? a.data : null]);
    assert.deepEqual(glue, [
      ['A', 'ns1.shop.example.test', '192.0.2.53'],
      ['AAAA', 'ns1.shop.example.test', '2001:db8::53'],
      ['A', 'ns2.shop.example.test', '198.51.100.53'],
    ]);
  });

  test('the nameserver names resolve to their addresses', async () => {
    const a = await udpQuery(s.udpPort, queryBytes('NS1.shop.example.test', 'A'));
    assert.deepEqual(answersOf(a).map((x) => x.type === 'A' && x.data), ['192.0.2.53']);
    const aaaa = await udpQuery(s.udpPort, queryBytes('ns1.shop.example.test', 'AAAA'));
    assert.deepEqual(answersOf(aaaa).map((x) => x.type === 'AAAA' && x.data), ['2001:db8::53']);
    const none = await udpQuery(s.udpPort, queryBytes('ns2.shop.example.test', 'AAAA'));
    assert.deepEqual([none.rcode, none.packet.answers?.length, none.packet.authorities?.[0]?.type], [rcode.NOERROR, 0, 'SOA']);
  });

  test('the apex listed as a host (@) is answered by the policy', async () => {
    s.calls.length = 0;
    const r = await udpQuery(s.udpPort, queryBytes('shop.example.test', 'A'));
    assert.equal(answersOf(r, 'A').length, 1);
    assert.equal(s.calls[0]?.name, '@');
  });

  test('ANY gets one synthesized HINFO (RFC 8482), never the zone', async () => {
    for (const name of ['shop.example.test', 'www.shop.example.test']) {
      const r = await udpQuery(s.udpPort, queryBytes(name, 'ANY'));
      assert.equal(r.rcode, rcode.NOERROR);
      assert.deepEqual(answersOf(r).map((a) => [a.type, a.type === 'HINFO' ? a.data : null]), [['HINFO', { cpu: 'RFC8482', os: '' }]]);
      assert.equal(r.packet.additionals?.length, 0);
    }
    const missing = await udpQuery(s.udpPort, queryBytes('nope.shop.example.test', 'ANY'));
    assert.equal(missing.rcode, rcode.NXDOMAIN);
  });

  test('a query with OPT gets an OPT advertising 1232 bytes', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { opt: opt(4096) }));
    const o = optOf(r);
    assert.ok(o);
    assert.deepEqual([o.udpPayloadSize, o.ednsVersion, o.extendedRcode, o.options.length], [1232, 0, 0, 0]);
  });

  test('EDNS version 1: BADVERS (extended rcode 16) with an OPT, no answer', async () => {
    s.calls.length = 0;
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { opt: opt(4096, { ednsVersion: 1 }) }));
    const o = optOf(r);
    assert.ok(o);
    assert.equal(r.rcode, 0, 'the low 4 bits of 16 in the header');
    assert.equal(o.extendedRcode, 1, 'the high 8 bits of 16 in the OPT');
    assert.equal(o.ednsVersion, 0, 'we say which version we speak');
    assert.equal(r.packet.answers?.length, 0);
    assert.equal(s.calls.length, 0);
  });

  test('opcode other than QUERY: NOTIMP, opcode echoed', async () => {
    for (const opcode of [2, 4, 5]) {
      const q = queryBytes('www.shop.example.test', 'A');
      q.writeUInt16BE((q.readUInt16BE(2) & ~0x7800) | (opcode << 11), 2);
      const r = await udpQuery(s.udpPort, q);
      assert.deepEqual([r.qr, r.opcode, r.rcode, r.packet.id], [true, opcode, rcode.NOTIMP, 0x1234], `opcode ${opcode}`);
    }
  });

  test('garbage after a readable header: FORMERR with the id', async () => {
    const junk = Buffer.concat([Buffer.from([0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0x3f, 0x41, 0x42])]);
    const r = await udpQuery(s.udpPort, junk);
    assert.deepEqual([r.packet.id, r.qr, r.rcode, r.rd], [0xbeef, true, rcode.FORMERR, true]);
  });

  test('two questions in one query: FORMERR', async () => {
    const q = queryBytes('www.shop.example.test', 'A');
    const two = Buffer.concat([q, q.subarray(12)]);
    two.writeUInt16BE(2, 4);
    const r = await udpQuery(s.udpPort, two);
    assert.equal(r.rcode, rcode.FORMERR);
  });

  test('too short for a header, or a response: dropped in silence (the next query is the first answered)', async () => {
    const response = queryBytes('www.shop.example.test', 'A', { id: 1 });
    response[2] = response[2]! | 0x80; // QR: a response
    const [raw] = await udpExchange(s.udpPort, [Buffer.from([1, 2, 3, 4, 5]), response, queryBytes('www.shop.example.test', 'A', { id: 2 })]);
    assert.equal(parseReply(raw!).packet.id, 2);
  });

  test('stats count queries and replies by rcode', async () => {
    const before = s.server.stats();
    await udpQuery(s.udpPort, queryBytes('nope.shop.example.test', 'A'));
    await udpQuery(s.udpPort, queryBytes('example.com', 'A'));
    const now = s.server.stats();
    assert.equal(now.queries, before.queries + 2);
    assert.equal(now.responses['NXDOMAIN'], (before.responses['NXDOMAIN'] ?? 0) + 1);
    assert.equal(now.responses['REFUSED'], (before.responses['REFUSED'] ?? 0) + 1);
  });

  test('nothing was reported as an error', () => {
    assert.deepEqual(s.errors, []);
  });
});

describe('dns server: truncation and TCP', () => {
  let s: Running;
  const hundred = Array.from({ length: 100 }, (_, i) => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  before(async () => {
    s = await startServer({ tcpIdleTimeoutMs: 200 }, (name, family) => (family === 4 && name === 'www' ? { addresses: hundred, ttlSec: 30 } : { addresses: [], ttlSec: 30 }));
  });
  after(() => s.stop());

  test('a reply too big for 512 bytes over UDP: TC=1, sections emptied, question kept', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A'));
    assert.ok(r.raw.length <= 512);
    assert.deepEqual([r.tc, r.aa, r.rcode], [true, true, rcode.NOERROR]);
    assert.equal(r.packet.answers?.length, 0);
    assert.equal(r.packet.authorities?.length, 0);
    assert.equal(r.packet.additionals?.length, 0);
    assert.deepEqual(r.packet.questions, [{ name: 'www.shop.example.test', type: 'A', class: 'IN' }]);
  });

  test('with EDNS the limit is 1232: still too big, TC=1, the OPT kept', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { opt: opt(4096) }));
    assert.ok(r.raw.length <= 1232);
    assert.equal(r.tc, true);
    assert.equal(r.packet.answers?.length, 0);
    assert.deepEqual(r.packet.additionals?.map((a) => a.type), ['OPT']);
  });

  test('the same query over TCP: the full answer, TC clear', async () => {
    const r = await tcpQuery(s.tcpPort, queryBytes('www.shop.example.test', 'A'));
    assert.deepEqual([r.tc, r.aa, r.rcode], [false, true, rcode.NOERROR]);
    assert.deepEqual(answersOf(r, 'A').map((a) => a.type === 'A' && a.data), hundred);
  });

  test('two pipelined queries on one connection: two replies, in order', async () => {
    const socket = await connectTcp(s.tcpPort);
    try {
      const replies = readFrames(socket, 2);
      socket.write(Buffer.concat([framed(queryBytes('api.shop.example.test', 'AAAA', { id: 1 })), framed(queryBytes('nope.shop.example.test', 'A', { id: 2 }))]));
      const [first, second] = (await replies).map(parseReply);
      assert.deepEqual([first!.packet.id, first!.rcode, first!.packet.authorities?.[0]?.type], [1, rcode.NOERROR, 'SOA']);
      assert.deepEqual([second!.packet.id, second!.rcode], [2, rcode.NXDOMAIN]);
    } finally {
      socket.destroy();
    }
  });

  test('a query split across writes is reassembled', async () => {
    const socket = await connectTcp(s.tcpPort);
    try {
      const replies = readFrames(socket, 1);
      const bytes = framed(queryBytes('api.shop.example.test', 'A', { id: 7 }));
      socket.write(bytes.subarray(0, 1));
      await new Promise((r) => setImmediate(r));
      socket.write(bytes.subarray(1, 9));
      await new Promise((r) => setImmediate(r));
      socket.write(bytes.subarray(9));
      const [raw] = await replies;
      assert.equal(parseReply(raw!).packet.id, 7);
    } finally {
      socket.destroy();
    }
  });

  test('an idle connection is closed after tcpIdleTimeoutMs', async () => {
    const socket = await connectTcp(s.tcpPort);
    const closed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), replyTimeoutMs);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.resume();
    });
    socket.destroy();
    assert.ok(closed, 'the server closed the idle connection');
  });
});

describe('dns server: a failing policy', () => {
  let s: Running;
  let fail = true;
  before(async () => {
    s = await startServer({}, (name, family) => {
      if (fail) throw new Error('policy exploded');
      return { addresses: family === 4 ? ['203.0.113.10'] : [], ttlSec: 30 };
    });
  });
  after(() => s.stop());

  test('an exception in answer(): SERVFAIL, reported, and the server keeps serving', async () => {
    const r = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { opt: opt(1232) }));
    assert.deepEqual([r.qr, r.aa, r.rcode], [true, false, rcode.SERVFAIL]);
    assert.ok(optOf(r), 'still an OPT for an EDNS query');
    assert.equal(s.errors.length, 1);
    assert.match(s.errors[0]!.message, /policy exploded/);

    fail = false;
    const ok = await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A'));
    assert.equal(ok.rcode, rcode.NOERROR);
    assert.equal(answersOf(ok, 'A').length, 1);
    const tcp = await tcpQuery(s.tcpPort, queryBytes('www.shop.example.test', 'A'));
    assert.equal(tcp.rcode, rcode.NOERROR);
  });

  test('stats counted the SERVFAIL', () => {
    assert.equal(s.server.stats().responses['SERVFAIL'], 1);
  });
});
