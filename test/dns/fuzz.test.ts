// The fuzz run: 100,000 random, randomly built and mutated packets through the server's
// pure path (the fast path for the common query, respond() for the rest: serveQuery()),
// then 6,000 more through a running server's UDP and TCP sockets. Every reply must decode,
// carry the query's id and opcode with QR set, echo the question byte for byte, and fit its
// limits; a fast-path reply must say what respond() says; the sockets must deliver exactly
// what serveQuery() decides; the server must still answer afterwards. Seeded: the seed is
// printed, MERIDIAN_FUZZ_SEED=<seed> replays a run.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { OptAnswer } from 'dns-packet';
import { amplificationLimitBytes, FastPath, respond, serveQuery, type DnsPolicyAnswer, type RespondContext } from '../../src/dns/index.js';
import { answersOf, connectTcp, context, ecsOpt, framed, host, mutatedPacket, opt, prng, queryBytes, rcode, readFrames, replyTimeoutMs, startServer, tcpQuery, udpQuery, type QueryType, type Running } from './fixtures.js';

const seed = fuzzSeed();
const replay = `seed ${seed} (replay: MERIDIAN_FUZZ_SEED=${seed} node --import tsx --test test/dns/fuzz.test.ts)`;
console.log(`dns fuzz: ${replay}`);

function fuzzSeed(): number {
  const env = process.env['MERIDIAN_FUZZ_SEED'];
  if (env === undefined || env === '') return Math.floor(Math.random() * 2 ** 32);
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`MERIDIAN_FUZZ_SEED=${env}: expected a whole number from 0 to 4294967295`);
  return n;
}

const maxUdpPayloadBytes = 1232;
const amplificationFactor = 10;
/** Big enough answers to push replies past every UDP limit: api has 60 addresses. */
const sixty = Array.from({ length: 60 }, (_, i) => `10.1.0.${i + 1}`);
function fuzzAnswer(name: string, family: 4 | 6): DnsPolicyAnswer {
  if (family === 6) return { addresses: name === 'www' ? ['2001:db8::10'] : [], ttlSec: 30 };
  return { addresses: name === 'api' ? sixty : ['203.0.113.10'], ttlSec: 30 };
}

const names = ['www', 'api', '', 'mail', 'chain', 'store', 'cdn', 'dangling', '_sip._tcp', '_tcp', 'ns1', 'nope', 'a.b.c.www', 'WwW', 'xn--bcher-kva'];
const zones = ['shop.example.test', 'SHOP.example.TEST', 'example.test', 'example.com', 'shop.example.test.evil.test'];
const types: QueryType[] = ['A', 'AAAA', 'NS', 'SOA', 'MX', 'TXT', 'SRV', 'CAA', 'CNAME', 'ANY', 'AXFR', 'IXFR', 'PTR', 'DS', 'HINFO'];

/** A well-formed query with random parts: name, type, class, flags, EDNS size, ECS, padding. */
function builtQuery(rand: () => number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const label = pick(names);
  const name = label === '' ? pick(zones) : `${label}.${pick(zones)}`;
  let edns: OptAnswer | null = null;
  const r = rand();
  if (r < 0.3) edns = ecsOpt(pick(['81.2.69.160', '2001:db8:1234::1', '0.0.0.0', '10.0.0.1']), pick([0, 8, 24, 32, 56]));
  else if (r < 0.6) edns = opt(pick([0, 100, 512, 1232, 1400, 4096, 65_535]), { ednsVersion: rand() < 0.1 ? 1 : 0 });
  else if (r < 0.7) edns = opt(4096, { options: [{ code: 12, length: Math.floor(rand() * 200) }] });
  const q = queryBytes(name, pick(types), { id: Math.floor(rand() * 65_536), rd: rand() < 0.5, opt: edns });
  if (rand() < 0.1) q.writeUInt16BE(pick([3, 4, 254, 255]), 12 + Buffer.byteLength(name) + 2 + 2); // class CH, HS, NONE, ANY
  if (rand() < 0.05) q.writeUInt16BE((q.readUInt16BE(2) & ~0x7800) | (Math.floor(rand() * 16) << 11), 2); // opcode
  return q;
}

function fuzzPacket(rand: () => number): Buffer {
  return rand() < 0.4 ? builtQuery(rand) : mutatedPacket(rand);
}

/** Length of the question section at the start of `msg`'s body, or null if it is not one. */
function questionLength(msg: Buffer): number | null {
  let offset = 12;
  for (;;) {
    if (offset >= msg.length) return null;
    const len = msg[offset]!;
    if (len === 0) break;
    if ((len & 0xc0) !== 0) return null;
    offset += 1 + len;
  }
  return offset + 1 + 4 <= msg.length ? offset + 1 + 4 - 12 : null;
}

/** Every property a reply must have, independent of how the server built it. */
function checkReply(query: Buffer, reply: Buffer, transport: 'udp' | 'tcp', where: string): void {
  const at = `${where}; ${replay}; query ${query.toString('hex')}`;
  let decoded: dnsPacket.DecodedPacket;
  try {
    decoded = dnsPacket.decode(reply);
  } catch (err) {
    assert.fail(`reply does not decode (${(err as Error).message}) ${at}; reply ${reply.toString('hex')}`);
  }
  assert.equal(reply.readUInt16BE(0), query.readUInt16BE(0), `id ${at}`);
  const flags = reply.readUInt16BE(2);
  assert.ok((flags & 0x8000) !== 0, `QR ${at}`);
  assert.equal((flags >> 11) & 0xf, (query.readUInt16BE(2) >> 11) & 0xf, `opcode ${at}`);
  assert.equal(flags & 0x0080, 0, `RA ${at}`);
  const qdcount = reply.readUInt16BE(4);
  assert.ok(qdcount <= 1, `qdcount ${qdcount} ${at}`);
  if (qdcount === 1) {
    const len = questionLength(reply);
    assert.ok(len !== null, `question in reply ${at}`);
    assert.deepEqual(reply.subarray(12, 12 + len), query.subarray(12, 12 + len), `question echoed ${at}`);
  }
  if (transport === 'tcp') {
    assert.ok(reply.length <= 65_535, `${reply.length} bytes over TCP ${at}`);
    return;
  }
  assert.ok(reply.length <= maxUdpPayloadBytes, `${reply.length} bytes over UDP ${at}`);
  assert.ok(reply.length <= amplificationLimitBytes(query.length, amplificationFactor), `${reply.length} bytes for a ${query.length}-byte query ${at}`);
  const replyOpt = (decoded.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
  if (replyOpt === undefined) {
    assert.ok(reply.length <= 512, `${reply.length} bytes without EDNS ${at}`);
    return;
  }
  let queryOpt: OptAnswer | undefined;
  try {
    queryOpt = (dnsPacket.decode(query).additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
  } catch {
    return; // answered from the header alone (FORMERR): nothing to compare
  }
  if (queryOpt !== undefined) assert.ok(reply.length <= Math.max(512, queryOpt.udpPayloadSize), `${reply.length} bytes for an EDNS size of ${queryOpt.udpPayloadSize} ${at}`);
}

test('fuzz the server path (fast path, else respond()): 100,000 packets, never a throw, every reply well formed and within its limits', () => {
  const rand = prng(seed);
  const udp = context({ answer: fuzzAnswer }, { amplificationFactor, maxUdpPayloadBytes });
  const contexts: RespondContext[] = [udp, { ...udp, transport: 'tcp' }, { ...udp, truncate: true }, { ...udp, remoteAddress: '::ffff:198.51.100.7' }];
  const fast = new FastPath(udp.zone);
  const counts = { replies: 0, drops: 0, truncated: 0, fast: 0 };
  for (let i = 0; i < 100_000; i++) {
    const packet = fuzzPacket(rand);
    const ctx = contexts[Math.floor(rand() * contexts.length)]!;
    const fastBefore = fast.stats().replies;
    const r = serveQuery(packet, ctx, fast);
    if (r.kind === 'drop') {
      counts.drops++;
      continue;
    }
    counts.replies++;
    if (r.truncated) counts.truncated++;
    assert.equal(r.error, undefined, `case ${i}: ${r.error?.message}; ${replay}; query ${packet.toString('hex')}`);
    checkReply(packet, r.bytes, ctx.transport, `case ${i} over ${ctx.transport}${ctx.truncate === true ? ' (slip)' : ''}`);
    if (fast.stats().replies > fastBefore) {
      // Built by the fast path: what respond() says, but for compression (test/dns/fast-path.test.ts
      // compares field by field; here the fuzzer's packets get the same check).
      counts.fast++;
      const o = respond(packet, ctx);
      assert.ok(o.kind === 'reply', `case ${i}: respond() answers what the fast path answered; ${replay}`);
      if (!o.truncated) assert.deepEqual(dnsPacket.decode(r.bytes), dnsPacket.decode(o.bytes), `case ${i}: fast path vs respond(); ${replay}; query ${packet.toString('hex')}`);
    }
  }
  console.log(`dns fuzz counts: ${JSON.stringify(counts)}`);
  // The run reached the interesting paths, not only FORMERR, and the fast path.
  assert.ok(counts.replies > 50_000 && counts.drops > 1000 && counts.truncated > 1000 && counts.fast > 250, JSON.stringify(counts));
});

describe('fuzz over sockets', () => {
  let s: Running;
  /** What the server's pure path (serveQuery()) says it should send for a packet from 127.0.0.1. */
  let oracle: (packet: Buffer, transport: 'udp' | 'tcp') => Buffer | null;
  before(async () => {
    s = await startServer({ amplificationFactor, maxUdpPayload: maxUdpPayloadBytes }, fuzzAnswer);
    const ctx = context({ answer: fuzzAnswer }, { amplificationFactor, maxUdpPayloadBytes, remoteAddress: '127.0.0.1' });
    const fast = new FastPath(ctx.zone);
    oracle = (packet, transport) => {
      const r = serveQuery(packet, { ...ctx, transport }, fast);
      return r.kind === 'reply' ? r.bytes : null;
    };
  });
  after(() => s.stop());

  /** Packets with unique ids (the id is opaque to the server), so each reply finds its query. */
  function batch(rand: () => number, n: number, firstId: number): Buffer[] {
    return Array.from({ length: n }, (_, i) => {
      const p = Buffer.from(fuzzPacket(rand));
      if (p.length >= 2) p.writeUInt16BE(firstId + i, 0);
      return p;
    });
  }

  test('3,000 packets over UDP: each reply is what serveQuery() decides, and well formed', async () => {
    const rand = prng(seed ^ 0x75d9);
    const socket = createSocket('udp4');
    const sent = new Map<number, Buffer>();
    const received: { id: number; bytes: Buffer }[] = [];
    let sentinel: { id: number; resolve: () => void } | null = null;
    socket.on('message', (m) => {
      const id = m.length >= 2 ? m.readUInt16BE(0) : -1;
      if (sentinel !== null && id === sentinel.id) return sentinel.resolve();
      received.push({ id, bytes: m });
    });
    try {
      let expected = 0;
      for (let b = 0; b < 60; b++) {
        for (const p of batch(rand, 50, b * 50)) {
          if (p.length >= 2) sent.set(p.readUInt16BE(0), p);
          if (oracle(p, 'udp') !== null) expected++;
          socket.send(p, s.udpPort, host);
        }
        // A normal query after each batch: its reply comes after the batch's (one socket,
        // one loop, loopback), and proves the server still answers through the flood.
        const id = 60_000 + b;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no reply to the query after batch ${b} within ${replyTimeoutMs} ms; ${replay}`)), replyTimeoutMs);
          sentinel = { id, resolve: () => (clearTimeout(timer), resolve()) };
          socket.send(queryBytes('www.shop.example.test', 'A', { id }), s.udpPort, host);
        });
      }
      for (const { id, bytes } of received) {
        const query = sent.get(id);
        assert.ok(query, `a reply with id ${id} answers nothing we sent; ${replay}`);
        checkReply(query, bytes, 'udp', `UDP id ${id}`);
        assert.deepEqual(bytes, oracle(query, 'udp'), `UDP id ${id}: the socket sent what serveQuery() decides; ${replay}`);
        sent.delete(id); // a second reply to the same query would fail above
      }
      assert.equal(received.length, expected, `replies over UDP; ${replay}`);
    } finally {
      socket.close();
    }
  });

  test('3,000 packets over TCP, 100 per connection: replies in order, each what serveQuery() decides', async () => {
    const rand = prng(seed ^ 0x7c9);
    for (let c = 0; c < 30; c++) {
      const packets = batch(rand, 100, c * 100);
      const expected = packets.map((p) => ({ query: p, reply: oracle(p, 'tcp') })).filter((x): x is { query: Buffer; reply: Buffer } => x.reply !== null);
      const socket = await connectTcp(s.tcpPort);
      try {
        const frames = readFrames(socket, expected.length + 1);
        socket.write(Buffer.concat([...packets.map(framed), framed(queryBytes('www.shop.example.test', 'A', { id: 60_000 + c }))]));
        const replies = await frames;
        assert.equal(parseId(replies[expected.length]), 60_000 + c, `the last reply answers the normal query; ${replay}`);
        expected.forEach(({ query, reply }, i) => {
          checkReply(query, replies[i]!, 'tcp', `TCP connection ${c} reply ${i}`);
          assert.deepEqual(replies[i], reply, `TCP connection ${c} reply ${i}: the socket sent what serveQuery() decides; ${replay}`);
        });
      } finally {
        socket.destroy();
      }
    }
  });

  test('after the runs a normal query is answered over UDP and TCP, and nothing was reported as an error', async () => {
    for (const r of [await udpQuery(s.udpPort, queryBytes('www.shop.example.test', 'A', { id: 4321 })), await tcpQuery(s.tcpPort, queryBytes('www.shop.example.test', 'A', { id: 4321 }))]) {
      assert.deepEqual([r.packet.id, r.rcode, r.aa], [4321, rcode.NOERROR, true]);
      assert.deepEqual(answersOf(r, 'A').map((a) => a.type === 'A' && a.data), ['203.0.113.10']);
    }
    assert.deepEqual(s.errors.map((e) => e.message), [], replay);
  });
});

function parseId(b: Buffer | undefined): number | null {
  return b !== undefined && b.length >= 2 ? b.readUInt16BE(0) : null;
}
