// Response-rate limiting: the limiter alone with time as an argument, then a server with a
// frozen clock under a burst from one source over real UDP.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { defaultMaxPrefixes, prefixKey, ResponseRateLimiter, type DnsRateLimit, type RateVerdict } from '../../src/dns/index.js';
import { answersOf, host, parseReply, queryBytes, rcode, replyTimeoutMs, startServer, tcpQuery, type Reply, type Running } from './fixtures.js';

const base: DnsRateLimit = { responsesPerSecond: 10, burst: 3, slip: 0, ipv4PrefixLength: 24, ipv6PrefixLength: 56 };

function takes(limiter: ResponseRateLimiter, address: string, nowMs: number, n: number): RateVerdict[] {
  return Array.from({ length: n }, () => limiter.take(address, nowMs));
}

describe('rate limiter (pure)', () => {
  test('a full bucket allows the burst at once, then refills at the rate', () => {
    const l = new ResponseRateLimiter(base);
    assert.deepEqual(takes(l, '192.0.2.1', 0, 4), ['answer', 'answer', 'answer', 'drop']);
    assert.deepEqual(takes(l, '192.0.2.1', 99, 1), ['drop'], '0.99 of a token after 99 ms at 10/s');
    assert.deepEqual(takes(l, '192.0.2.1', 100, 2), ['answer', 'drop']);
    assert.deepEqual(takes(l, '192.0.2.1', 10_000, 4), ['answer', 'answer', 'answer', 'drop'], 'refills to the burst, not beyond');
  });

  test('slip: every Nth limited reply is slipped, the rest dropped; 0 drops all, 1 slips all', () => {
    const limited = (slip: number) => takes(new ResponseRateLimiter({ ...base, slip, burst: 1 }), '192.0.2.1', 0, 7).slice(1);
    assert.deepEqual(limited(0), ['drop', 'drop', 'drop', 'drop', 'drop', 'drop']);
    assert.deepEqual(limited(1), ['slip', 'slip', 'slip', 'slip', 'slip', 'slip']);
    assert.deepEqual(limited(2), ['drop', 'slip', 'drop', 'slip', 'drop', 'slip']);
    assert.deepEqual(limited(3), ['drop', 'drop', 'slip', 'drop', 'drop', 'slip']);
  });

  test('counters: limited = dropped + slipped, and the prefixes tracked', () => {
    const l = new ResponseRateLimiter({ ...base, slip: 2, burst: 1 });
    takes(l, '192.0.2.1', 0, 6);
    takes(l, '198.51.100.1', 0, 1);
    assert.deepEqual(l.stats(), { limited: 5, dropped: 3, slipped: 2, prefixes: 2 });
  });

  test('addresses in one /24 (IPv4) or /56 (IPv6) share a bucket; IPv4-mapped IPv6 counts as IPv4', () => {
    const l = new ResponseRateLimiter({ ...base, burst: 2 });
    assert.deepEqual([l.take('192.0.2.1', 0), l.take('192.0.2.254', 0), l.take('::ffff:192.0.2.9', 0)], ['answer', 'answer', 'drop']);
    assert.equal(l.take('192.0.3.1', 0), 'answer', 'the next /24 is another client');
    assert.deepEqual([l.take('2001:db8:0:100::1', 0), l.take('2001:db8:0:1ff:ffff::1', 0), l.take('2001:db8:0:100::2', 0)], ['answer', 'answer', 'drop']);
    assert.equal(l.take('2001:db8:0:200::1', 0), 'answer', 'the next /56 is another client');
  });

  test('prefix keys follow the configured lengths', () => {
    assert.equal(prefixKey('192.0.2.77', 24, 56), prefixKey('192.0.2.1', 24, 56));
    assert.notEqual(prefixKey('192.0.2.77', 32, 56), prefixKey('192.0.2.1', 32, 56));
    assert.equal(prefixKey('192.0.2.77', 16, 56), prefixKey('192.0.99.1', 16, 56));
    assert.equal(prefixKey('2001:db8::1', 24, 64), prefixKey('2001:db8::ffff:1', 24, 64));
    assert.notEqual(prefixKey('2001:db8::1', 24, 128), prefixKey('2001:db8::2', 24, 128));
    assert.notEqual(prefixKey('10.0.0.1', 24, 56), prefixKey('::a00:1', 24, 56), 'IPv4 and IPv6 keys never collide');
  });

  test('a clock that steps back mints no tokens', () => {
    const l = new ResponseRateLimiter({ ...base, burst: 1 });
    assert.deepEqual([l.take('192.0.2.1', 1000), l.take('192.0.2.1', 0), l.take('192.0.2.1', 1000), l.take('192.0.2.1', 1100)], ['answer', 'drop', 'drop', 'answer']);
  });

  test('the table is bounded: the least recently seen prefix is evicted first', () => {
    const l = new ResponseRateLimiter({ ...base, responsesPerSecond: 0.001, burst: 1, maxPrefixes: 3 });
    for (const a of ['10.0.1.1', '10.0.2.1', '10.0.3.1']) assert.equal(l.take(a, 0), 'answer');
    assert.equal(l.take('10.0.1.1', 0), 'drop'); // 10.0.1/24 is now the most recent
    assert.equal(l.take('10.0.4.1', 0), 'answer'); // evicts 10.0.2/24
    assert.equal(l.stats().prefixes, 3);
    assert.equal(l.take('10.0.2.1', 0), 'answer', 'evicted: starts again with a full bucket');
    assert.equal(l.take('10.0.1.1', 0), 'drop', 'kept: still empty');
  });

  test(`the default bound holds ${defaultMaxPrefixes.toLocaleString('en')} prefixes under a flood from more`, () => {
    const l = new ResponseRateLimiter(base);
    for (let i = 0; i < defaultMaxPrefixes * 1.5; i++) l.take(`${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}.1`, i);
    assert.equal(l.stats().prefixes, defaultMaxPrefixes);
  });
});

/** Sends the queries from one socket bound to `from`; collects replies until `count` have
 *  come and then `quietMs` more passed (to see that no more come). */
async function burst(port: number, from: string, messages: Buffer[], count: number, quietMs = 200): Promise<Reply[]> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ address: from, port: 0 }, resolve));
  try {
    return await new Promise<Reply[]>((resolve, reject) => {
      const replies: Reply[] = [];
      let quiet: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => reject(new Error(`${replies.length} of ${count} replies within ${replyTimeoutMs} ms`)), replyTimeoutMs);
      socket.on('message', (m) => {
        replies.push(parseReply(m));
        if (replies.length === count) {
          clearTimeout(timer);
          quiet = setTimeout(() => resolve(replies), quietMs);
        }
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        clearTimeout(quiet);
        reject(err);
      });
      for (const m of messages) socket.send(m, port, host);
    });
  } finally {
    socket.close();
  }
}

describe('rate limiter in the server (UDP, frozen clock)', () => {
  let s: Running;
  before(async () => {
    // Frozen: no token comes back during the test, so the counts are exact.
    s = await startServer({ rateLimit: { responsesPerSecond: 5, burst: 5, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 }, clockMs: () => 0 });
  });
  after(() => s.stop());

  test('a burst of 40 from one source: 5 answered, then every 2nd slipped with TC, the rest dropped', async () => {
    const queries = Array.from({ length: 40 }, (_, id) => queryBytes('www.shop.example.test', 'A', { id }));
    const replies = await burst(s.udpPort, '127.0.0.1', queries, 5 + 17);
    const full = replies.filter((r) => !r.tc);
    const slipped = replies.filter((r) => r.tc);
    assert.deepEqual(full.map((r) => [r.packet.id, r.rcode, answersOf(r, 'A').length]), [0, 1, 2, 3, 4].map((id) => [id, rcode.NOERROR, 1]));
    // Limited replies are queries 5..39; the 2nd, 4th, ... of them are slipped.
    assert.deepEqual(slipped.map((r) => r.packet.id ?? -1).sort((a, b) => a - b), Array.from({ length: 17 }, (_, i) => 6 + 2 * i));
    for (const r of slipped) {
      assert.deepEqual([r.qr, r.packet.answers?.length, r.packet.authorities?.length], [true, 0, 0]);
      assert.deepEqual(r.packet.questions, [{ name: 'www.shop.example.test', type: 'A', class: 'IN' }], 'the question is echoed so the client can match and retry');
    }
    const stats = s.server.stats();
    assert.deepEqual(stats.rateLimit, { limited: 35, dropped: 18, slipped: 17, prefixes: 1 });
    assert.equal(stats.truncated, 17);
    assert.deepEqual(stats.fastPath, { replies: 5, fallbacks: 0 }, 'the 5 answered went the fast path, behind the limiter');
  });

  test('the same source over TCP is still answered: TCP is exempt', async () => {
    const r = await tcpQuery(s.tcpPort, queryBytes('www.shop.example.test', 'A', { id: 500 }));
    assert.deepEqual([r.packet.id, r.tc, r.rcode, answersOf(r, 'A').length], [500, false, rcode.NOERROR, 1]);
  });

  test('another /24 is unaffected', async () => {
    const queries = Array.from({ length: 5 }, (_, i) => queryBytes('www.shop.example.test', 'A', { id: 1000 + i }));
    const replies = await burst(s.udpPort, '127.0.1.2', queries, 5, 50);
    assert.deepEqual(replies.map((r) => [r.tc, answersOf(r, 'A').length]), Array.from({ length: 5 }, () => [false, 1]));
    assert.equal(s.server.stats().rateLimit.prefixes, 2);
  });

  test('messages respond() drops (responses, runts) spend no token', async () => {
    const before = s.server.stats().rateLimit;
    const response = queryBytes('www.shop.example.test', 'A', { id: 1 });
    response[2] = response[2]! | 0x80;
    const junk = Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? response : Buffer.alloc(5)));
    const queries = Array.from({ length: 5 }, (_, i) => queryBytes('www.shop.example.test', 'A', { id: 2000 + i }));
    const replies = await burst(s.udpPort, '127.0.2.2', [...junk, ...queries], 5, 50);
    assert.deepEqual(replies.map((r) => [r.packet.id, r.tc]), queries.map((_, i) => [2000 + i, false]));
    assert.equal(s.server.stats().rateLimit.limited, before.limited);
  });
});
