// What keeps the server from being abused, through respond(): the amplification bound,
// the rate limiter's slip replies, and the things it never does (recurse, answer outside
// the zone, list a name's records for ANY, transfer the zone).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { amplificationLimitBytes, respond } from '../../src/dns/index.js';
import { countsFit } from '../../src/dns/wire.js';
import { answersOf, ask, context, ecsOpt, opt, optOf, parseReply, queryBytes, rcode } from './fixtures.js';

const many = Array.from({ length: 25 }, (_, i) => `10.0.0.${i + 1}`);
/** A policy with a 25-address answer for www: about 1,000 bytes, more than 10 x a small query, within 1232. */
const big = () => context({ answer: (_n, family) => ({ addresses: family === 4 ? many : [], ttlSec: 30 }) }, { amplificationFactor: 10 });

test('amplification bound: max(512, factor x query bytes), off at 0', () => {
  assert.equal(amplificationLimitBytes(40, 10), 512);
  assert.equal(amplificationLimitBytes(100, 10), 1000);
  assert.equal(amplificationLimitBytes(100, 0), Number.POSITIVE_INFINITY);
});

test('a UDP reply larger than 10x its query is truncated even when EDNS would allow it', () => {
  const query = queryBytes('www.shop.example.test', 'A', { opt: opt(4096) });
  assert.ok(query.length < 60);
  const r = ask(query, big());
  assert.deepEqual([r.tc, r.packet.answers?.length, r.rcode], [true, 0, rcode.NOERROR]);
  assert.ok(r.raw.length <= 512);
  assert.ok(optOf(r), 'the OPT stays, so the client keeps its EDNS view of us');

  // Without the bound the same answer fits the client's (and our) 1232 bytes: sent whole.
  const unbounded = ask(query, context({ answer: () => ({ addresses: many, ttlSec: 30 }) }, { amplificationFactor: 0 }));
  assert.deepEqual([unbounded.tc, answersOf(unbounded, 'A').length], [false, 25]);
  assert.ok(unbounded.raw.length > 512 && unbounded.raw.length <= 1232);
});

test('the amplification bound lets a reply as large as 10x a larger query through', () => {
  // An OPT with a 60-byte padding option (RFC 7830) grows the query past 100 bytes.
  const padded = queryBytes('www.shop.example.test', 'A', { opt: opt(4096, { options: [{ code: 12, length: 60 }] }) });
  assert.ok(padded.length >= 100, `${padded.length}`);
  const r = ask(padded, big());
  assert.deepEqual([r.tc, answersOf(r, 'A').length], [false, 25]);
  assert.ok(r.raw.length <= 10 * padded.length);
});

test('over TCP the amplification bound does not apply', () => {
  const r = ask(queryBytes('www.shop.example.test', 'A'), { ...big(), transport: 'tcp' });
  assert.deepEqual([r.tc, answersOf(r, 'A').length], [false, 25]);
});

test('a slip (truncate): TC=1, empty sections, the question and OPT with the ECS echo (scope 0), the policy not asked', () => {
  let asked = 0;
  const ctx = context({ answer: () => (asked++, { addresses: ['10.0.0.1'], ttlSec: 30 }) }, { truncate: true });
  const r = ask(queryBytes('www.shop.example.test', 'A', { id: 99, opt: ecsOpt('81.2.69.160', 24) }), ctx);
  assert.deepEqual([r.packet.id, r.qr, r.tc, r.rcode, r.packet.answers?.length, r.packet.authorities?.length], [99, true, true, rcode.NOERROR, 0, 0]);
  assert.deepEqual(r.packet.questions, [{ name: 'www.shop.example.test', type: 'A', class: 'IN' }]);
  const ecs = optOf(r)?.options.find((o) => o.code === 8);
  assert.ok(ecs && 'scopePrefixLength' in ecs);
  assert.deepEqual([ecs.sourcePrefixLength, ecs.scopePrefixLength], [24, 0]);
  assert.equal(asked, 0);
  assert.equal(r.truncated, true);
  // Errors are slipped the same way: TC set on the small FORMERR too.
  const garbage = Buffer.from([0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 0x41]);
  const f = ask(garbage, ctx);
  assert.deepEqual([f.tc, f.rcode], [true, rcode.FORMERR]);
});

test('no recursion: RD is copied, RA never set, and a name elsewhere is REFUSED without data', () => {
  for (const name of ['example.com', 'www.example.net', 'test', 'example.test']) {
    const r = ask(queryBytes(name, 'A', { opt: opt(1232) }));
    assert.deepEqual([r.rcode, r.rd, r.ra, r.aa, r.packet.answers?.length, r.packet.authorities?.length], [rcode.REFUSED, true, false, false, 0, 0], name);
  }
  const inZone = ask(queryBytes('www.shop.example.test', 'A'));
  assert.deepEqual([inZone.rd, inZone.ra], [true, false]);
});

test('a CNAME pointing outside the zone is not chased: no recursion on its behalf', () => {
  const r = ask(queryBytes('cdn.shop.example.test', 'A'));
  assert.deepEqual(answersOf(r).map((a) => a.type), ['CNAME']);
});

test('ANY is minimal everywhere: one HINFO at a name with data, NXDOMAIN where there is none', () => {
  for (const name of ['shop.example.test', 'mail.shop.example.test', '_sip._tcp.shop.example.test']) {
    const r = ask(queryBytes(name, 'ANY', { opt: opt(4096) }));
    assert.deepEqual(answersOf(r).map((a) => a.type), ['HINFO'], name);
    assert.ok(r.raw.length < 120, `${name}: ${r.raw.length} bytes`);
  }
  assert.equal(ask(queryBytes('none.shop.example.test', 'ANY')).rcode, rcode.NXDOMAIN);
});

test('zone transfers (AXFR, IXFR) are REFUSED over UDP and TCP', () => {
  for (const type of ['AXFR', 'IXFR'] as const) {
    for (const transport of ['udp', 'tcp'] as const) {
      const r = respond(queryBytes('shop.example.test', type), context({}, { transport }));
      assert.ok(r.kind === 'reply');
      const reply = parseReply(r.bytes);
      assert.deepEqual([reply.rcode, reply.packet.answers?.length], [rcode.REFUSED, 0], `${type} over ${transport}`);
    }
  }
});

test('a header claiming more records than its bytes could hold is FORMERR without being decoded', () => {
  const liar = Buffer.from([0x12, 0x34, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(countsFit(liar), false);
  assert.equal(countsFit(queryBytes('www.shop.example.test', 'A', { opt: opt() })), true);
  const r = ask(liar);
  assert.deepEqual([r.packet.id, r.rcode, r.packet.questions?.length], [0x1234, rcode.FORMERR, 0]);
});
