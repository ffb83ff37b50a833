// respond() called directly: the cases that need no socket, and a seeded fuzz of the core.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { DnsClient, DnsPolicyAnswer } from '../../src/dns/index.js';
import { respond } from '../../src/dns/index.js';
import { answersOf, ask, context, ecsOpt, mutatedPacket, opt, optOf, parseReply, prng, queryBytes, rcode } from './fixtures.js';

/** An ECS option with raw bytes, for what dns-packet would not encode. */
function rawEcs(data: number[]) {
  return opt(4096, { options: [{ code: 8, ip: undefined, data: Buffer.from(data) }] });
}

test('an empty non-terminal (above a multi-label host) is NODATA, not NXDOMAIN (RFC 8020)', () => {
  const ctx = context({ hosts: ['eu.www'] });
  const r = ask(queryBytes('www.shop.example.test', 'A'), ctx);
  assert.deepEqual([r.rcode, r.packet.answers?.length, r.packet.authorities?.[0]?.type], [rcode.NOERROR, 0, 'SOA']);
  const below = ask(queryBytes('eu.www.shop.example.test', 'A'), ctx);
  assert.equal(answersOf(below, 'A').length, 1);
});

test('a class other than IN is REFUSED, class ANY is answered', () => {
  const q = queryBytes('www.shop.example.test', 'A');
  q.writeUInt16BE(3, q.length - 2); // CH
  assert.equal(ask(q).rcode, rcode.REFUSED);
  q.writeUInt16BE(255, q.length - 2); // ANY
  assert.equal(ask(q).rcode, rcode.NOERROR);
});

test('zone transfers are refused', () => {
  assert.equal(ask(queryBytes('shop.example.test', 'AXFR')).rcode, rcode.REFUSED);
});

test('an unknown type at a service host is NODATA with the SOA', () => {
  const r = ask(queryBytes('www.shop.example.test', 'TXT'));
  assert.deepEqual([r.rcode, r.aa, r.packet.answers?.length, r.packet.authorities?.[0]?.type], [rcode.NOERROR, true, 0, 'SOA']);
});

test('a label holding a dot is not mistaken for two labels', () => {
  // One label "www.shop" followed by example.test is a different name from www.shop.example.test:
  // outside the zone, so REFUSED; under the zone it would be NXDOMAIN, never the policy's answer.
  const name = Buffer.from([8, ...Buffer.from('www.shop'), 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]);
  const header = Buffer.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const out = ask(Buffer.concat([header, name, Buffer.from([0, 1, 0, 1])]));
  assert.equal(out.rcode, rcode.REFUSED);
  const inZone = Buffer.from([7, ...Buffer.from('www.eu.'), 4, ...Buffer.from('shop'), 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]);
  assert.equal(ask(Buffer.concat([header, inZone, Buffer.from([0, 1, 0, 1])])).rcode, rcode.NXDOMAIN);
});

test('the question is echoed byte for byte, even with bytes that are not UTF-8', () => {
  const name = Buffer.from([3, 0xff, 0xfe, 0x41, 4, ...Buffer.from('SHOP'), 7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]);
  const q = Buffer.concat([Buffer.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), name, Buffer.from([0, 1, 0, 1])]);
  const r = respond(q, context());
  assert.ok(r.kind === 'reply');
  assert.deepEqual(r.bytes.subarray(12, 12 + name.length + 4), q.subarray(12));
  assert.equal(parseReply(r.bytes).rcode, rcode.NXDOMAIN);
});

test('a message with the response bit set is dropped, so two servers cannot bounce errors forever', () => {
  const q = queryBytes('www.shop.example.test', 'A');
  q[2] = q[2]! | 0x80;
  assert.equal(respond(q, context()).kind, 'drop');
  assert.equal(respond(Buffer.alloc(11), context()).kind, 'drop');
});

test('malformed ECS: unknown family, prefix longer than the family, too many address bytes -> FORMERR with an OPT', () => {
  for (const data of [
    [0, 3, 24, 0, 1, 2, 3],
    [0, 1, 33, 0, 1, 2, 3, 4],
    [0, 1, 24, 0, 1, 2, 3, 4, 5],
  ]) {
    const r = ask(queryBytes('www.shop.example.test', 'A', { opt: rawEcs(data) }));
    assert.equal(r.rcode, rcode.FORMERR, JSON.stringify(data));
    assert.ok(optOf(r), 'FORMERR to an EDNS query carries an OPT');
  }
  // Too short to hold a family and prefixes: dns-packet cannot decode the message at all,
  // so the FORMERR comes from the header alone.
  assert.equal(ask(queryBytes('www.shop.example.test', 'A', { opt: rawEcs([0, 1]) })).rcode, rcode.FORMERR);
});

test('ECS with bits beyond the prefix: masked for the policy, echoed exactly as sent', () => {
  const calls: DnsClient[] = [];
  const ctx = context({
    answer: (_name, family, client): DnsPolicyAnswer => {
      calls.push(client);
      return { addresses: family === 4 ? ['203.0.113.10'] : [], ttlSec: 30 };
    },
  });
  const r = ask(queryBytes('www.shop.example.test', 'A', { opt: rawEcs([0, 1, 20, 0, 81, 2, 69]) }), ctx);
  assert.equal(r.rcode, rcode.NOERROR);
  assert.deepEqual(calls, [{ ip: '81.2.64.0', prefixLength: 20, source: 'ecs' }]);
  const ecs = optOf(r)?.options.find((o) => o.code === 8);
  assert.deepEqual(ecs?.data, Buffer.from([0, 1, 20, 20, 81, 2, 69]));
});

test('two ECS options: FORMERR', () => {
  const o = opt(4096, { options: [...ecsOpt('81.2.69.1', 24).options, ...ecsOpt('81.2.70.1', 24).options] });
  assert.equal(ask(queryBytes('www.shop.example.test', 'A', { opt: o })).rcode, rcode.FORMERR);
});

test('two OPT records: FORMERR', () => {
  const q = dnsPacket.encode({ type: 'query', id: 5, questions: [{ name: 'www.shop.example.test', type: 'A' }], additionals: [opt(), opt()] });
  assert.equal(ask(q).rcode, rcode.FORMERR);
});

test('client payload sizes below 512 count as 512', () => {
  // 12 A records of 37 bytes: over 400 bytes, under 512, so more than the 100 the client asked for.
  const twelve = context({ answer: () => ({ addresses: Array.from({ length: 12 }, (_, i) => `10.0.0.${i + 1}`), ttlSec: 30 }) });
  const r = ask(queryBytes('www.shop.example.test', 'A', { opt: opt(100) }), twelve);
  assert.deepEqual([r.tc, answersOf(r, 'A').length], [false, 12]);
  assert.ok(r.raw.length > 400 && r.raw.length <= 512);
});

test('the advertised size caps a larger client size', () => {
  const big = context({ answer: () => ({ addresses: Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`), ttlSec: 30 }) }, { maxUdpPayloadBytes: 1232 });
  const r = ask(queryBytes('www.shop.example.test', 'A', { opt: opt(4096) }), big); // ~1500 bytes
  assert.equal(r.tc, true);
  assert.equal(optOf(r)?.udpPayloadSize, 1232);
});

test('a reply that fits only without glue loses the glue, not the answer, and is not truncated', () => {
  // 8 NS records of 52 bytes fit in 512; their 8 glue records of 37 bytes do not.
  const many = Array.from({ length: 8 }, (_, i) => ({ name: `ns${i}.shop.example.test`, address: `192.0.2.${i + 1}` }));
  const r = ask(queryBytes('shop.example.test', 'NS'), context({ nameservers: many }));
  assert.deepEqual([r.tc, answersOf(r, 'NS').length, r.packet.additionals?.length], [false, 8, 0]);
  const roomy = ask(queryBytes('shop.example.test', 'NS', { opt: opt(1232) }), context({ nameservers: many }));
  assert.deepEqual([roomy.tc, answersOf(roomy, 'NS').length, roomy.packet.additionals?.length], [false, 8, 9], 'with EDNS the glue fits, and the OPT');
});

test('over TCP a reply beyond 65,535 bytes is truncated rather than broken', () => {
  const huge = context({ answer: () => ({ addresses: Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.1`), ttlSec: 30 }) }, { transport: 'tcp' });
  const r = ask(queryBytes('www.shop.example.test', 'A'), huge);
  assert.deepEqual([r.tc, r.packet.answers?.length], [true, 0]);
});

test('a policy answer with an address of the wrong family or a bad TTL is SERVFAIL with an error', () => {
  for (const bad of [
    { addresses: ['2001:db8::1'], ttlSec: 30 },
    { addresses: ['not-an-ip'], ttlSec: 30 },
    { addresses: ['10.0.0.1'], ttlSec: -1 },
    { addresses: ['10.0.0.1'], ttlSec: 1.5 },
  ]) {
    const r = ask(queryBytes('www.shop.example.test', 'A'), context({ answer: () => bad }));
    assert.equal(r.rcode, rcode.SERVFAIL, JSON.stringify(bad));
    assert.match(r.error?.message ?? '', /policy answered badly/);
  }
});

test('duplicate addresses from the policy become one record', () => {
  const r = ask(queryBytes('www.shop.example.test', 'A'), context({ answer: () => ({ addresses: ['10.0.0.1', '10.0.0.1'], ttlSec: 30 }) }));
  assert.equal(answersOf(r, 'A').length, 1);
});

test('a resolver seen as IPv4-mapped IPv6 reaches the policy as IPv4', () => {
  const calls: DnsClient[] = [];
  const ctx = context({ answer: (_n, _f, client) => (calls.push(client), { addresses: ['10.0.0.1'], ttlSec: 5 }) }, { remoteAddress: '::ffff:198.51.100.7' });
  ask(queryBytes('www.shop.example.test', 'A'), ctx);
  assert.deepEqual(calls, [{ ip: '198.51.100.7', prefixLength: 32, source: 'resolver' }]);
});

test('fuzz: 10,000 mutated packets never throw, and every reply decodes, with the id and QR set', () => {
  const seed = 0x5eed;
  const rand = prng(seed);
  const ctx = context();
  for (let i = 0; i < 10_000; i++) {
    const packet = mutatedPacket(rand);
    const r = respond(packet, ctx);
    if (r.kind === 'drop') continue;
    assert.equal(r.error, undefined, `seed ${seed} case ${i}: ${r.error?.message} for ${packet.toString('hex')}`);
    const reply = parseReply(r.bytes);
    assert.equal(reply.qr, true);
    assert.equal(reply.packet.id, packet.readUInt16BE(0));
    assert.ok(r.bytes.length <= 1232, `case ${i}: ${r.bytes.length} bytes over UDP`);
  }
});
