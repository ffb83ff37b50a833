// Static records from the config, through respond(): every type, aliases followed inside
// the zone, additional addresses for MX and SRV targets, NODATA against NXDOMAIN.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Answer } from 'dns-packet';
import type { DnsClient } from '../../src/dns/index.js';
import { answersOf, ask, context, ecsOpt, opt, optOf, queryBytes, rcode, type QueryType, type Reply } from './fixtures.js';

/** [type, owner, ttl, data as text] for each record of a section: what a test compares. */
function rows(section: Answer[] | undefined): [string, string, number | null, string][] {
  return (section ?? []).map((a) => [a.type, a.name, 'ttl' in a ? (a.ttl ?? null) : null, 'data' in a ? text(a.data) : '']);
}

function text(data: unknown): string {
  if (Array.isArray(data)) return data.map((d) => (Buffer.isBuffer(d) ? d.toString() : String(d))).join('|');
  if (typeof data === 'object' && data !== null && !Buffer.isBuffer(data)) return Object.values(data).map(String).join(' ');
  return String(data);
}

function q(name: string, type: QueryType): Reply {
  return ask(queryBytes(name, type, { opt: opt(1232) }));
}

test('MX at the apex: both exchanges, TTL as configured, the in-zone one\'s A and AAAA as additional data', () => {
  const r = q('shop.example.test', 'MX');
  assert.deepEqual([r.rcode, r.aa, r.tc], [rcode.NOERROR, true, false]);
  assert.deepEqual(rows(r.packet.answers), [
    ['MX', 'shop.example.test', 300, '10 mail.shop.example.test'],
    ['MX', 'shop.example.test', 300, '20 mx.other.test'],
  ]);
  assert.deepEqual(rows(r.packet.additionals?.filter((a) => a.type !== 'OPT')), [
    ['A', 'mail.shop.example.test', 300, '192.0.2.25'],
    ['AAAA', 'mail.shop.example.test', 300, '2001:db8::25'],
  ]);
});

test('SRV: priority, weight, port, target, and the target\'s address as additional data', () => {
  const r = q('_sip._tcp.shop.example.test', 'SRV');
  assert.deepEqual(rows(r.packet.answers), [['SRV', '_sip._tcp.shop.example.test', 60, '10 5 5060 sip.shop.example.test']]);
  assert.deepEqual(rows(r.packet.additionals?.filter((a) => a.type !== 'OPT')), [['A', 'sip.shop.example.test', 60, '192.0.2.60']]);
});

test('TXT: plain text is one string; quoted strings stay separate', () => {
  assert.deepEqual(rows(q('shop.example.test', 'TXT').packet.answers), [['TXT', 'shop.example.test', 300, 'v=spf1 mx -all']]);
  assert.deepEqual(rows(q('api.shop.example.test', 'TXT').packet.answers), [['TXT', 'api.shop.example.test', 30, 'hello|world']]);
});

test('CAA: flags, tag and value', () => {
  const [caa] = answersOf(q('shop.example.test', 'CAA'));
  assert.ok(caa?.type === 'CAA');
  assert.deepEqual([caa.data.flags, caa.data.tag, caa.data.value, caa.ttl], [0, 'issue', 'letsencrypt.org', 3600]);
});

test('static A and AAAA are answered as configured, with the name as asked', () => {
  assert.deepEqual(rows(q('MAIL.shop.example.test', 'A').packet.answers), [['A', 'MAIL.shop.example.test', 300, '192.0.2.25']]);
  assert.deepEqual(rows(q('mail.shop.example.test', 'AAAA').packet.answers), [['AAAA', 'mail.shop.example.test', 300, '2001:db8::25']]);
});

test('a type the name does not have: NODATA, the SOA in authority, AA', () => {
  for (const [name, type] of [['mail.shop.example.test', 'MX'], ['shop.example.test', 'SRV'], ['sip.shop.example.test', 'AAAA']] as const) {
    const r = q(name, type);
    assert.deepEqual([r.rcode, r.aa, r.packet.answers?.length, r.packet.authorities?.map((a) => a.type)], [rcode.NOERROR, true, 0, ['SOA']], `${name} ${type}`);
  }
});

test('an empty non-terminal made by a static name (_tcp above _sip._tcp) is NODATA, a sibling NXDOMAIN', () => {
  const ent = q('_tcp.shop.example.test', 'SRV');
  assert.deepEqual([ent.rcode, ent.packet.answers?.length, ent.packet.authorities?.[0]?.type], [rcode.NOERROR, 0, 'SOA']);
  const none = q('_udp.shop.example.test', 'SRV');
  assert.deepEqual([none.rcode, none.packet.authorities?.[0]?.type], [rcode.NXDOMAIN, 'SOA']);
});

test('a CNAME answers any type with the alias, and the chain is followed inside the zone', () => {
  const r = q('chain.shop.example.test', 'A');
  assert.deepEqual([r.rcode, r.aa], [rcode.NOERROR, true]);
  assert.deepEqual(rows(r.packet.answers), [
    ['CNAME', 'chain.shop.example.test', 60, 'webmail.shop.example.test'],
    ['CNAME', 'webmail.shop.example.test', 60, 'mail.shop.example.test'],
    ['A', 'mail.shop.example.test', 300, '192.0.2.25'],
  ]);
  // MX at the alias: the CNAME, then NODATA at the target (the SOA in authority).
  const mx = q('webmail.shop.example.test', 'MX');
  assert.deepEqual([mx.rcode, rows(mx.packet.answers).map((x) => x[0]), mx.packet.authorities?.map((a) => a.type)], [rcode.NOERROR, ['CNAME'], ['SOA']]);
});

test('a CNAME to a service host: the policy answers the target, and the ECS scope says so', () => {
  const calls: { name: string; client: DnsClient }[] = [];
  const ctx = context({ answer: (name, family, client) => (calls.push({ name, client }), { addresses: family === 4 ? ['203.0.113.10'] : [], ttlSec: 30 }) });
  const r = ask(queryBytes('store.shop.example.test', 'A', { opt: ecsOpt('81.2.69.160', 24) }), ctx);
  assert.deepEqual(rows(r.packet.answers), [
    ['CNAME', 'store.shop.example.test', 60, 'www.shop.example.test'],
    ['A', 'www.shop.example.test', 30, '203.0.113.10'],
  ]);
  assert.deepEqual(calls, [{ name: 'www', client: { ip: '81.2.69.0', prefixLength: 24, source: 'ecs' } }]);
  const ecs = optOf(r)?.options.find((o) => o.code === 8);
  assert.ok(ecs && 'scopePrefixLength' in ecs);
  assert.equal(ecs.scopePrefixLength, 24);
});

test('a CNAME leaving the zone is answered alone, NOERROR; one to a missing name is NXDOMAIN with the CNAME (RFC 6604)', () => {
  const out = q('cdn.shop.example.test', 'AAAA');
  assert.deepEqual([out.rcode, rows(out.packet.answers), out.packet.authorities?.length], [rcode.NOERROR, [['CNAME', 'cdn.shop.example.test', 60, 'shop.cdn.example.net']], 0]);
  const dangling = q('dangling.shop.example.test', 'A');
  assert.deepEqual([dangling.rcode, dangling.aa, rows(dangling.packet.answers).map((x) => x[0]), dangling.packet.authorities?.map((a) => a.type)], [rcode.NXDOMAIN, true, ['CNAME'], ['SOA']]);
});

test('a CNAME query is answered with the CNAME and not followed; ANY at an alias is the CNAME alone', () => {
  for (const type of ['CNAME', 'ANY'] as const) {
    const r = q('chain.shop.example.test', type);
    assert.deepEqual(rows(r.packet.answers), [['CNAME', 'chain.shop.example.test', 60, 'webmail.shop.example.test']], type);
  }
});

test('ANY stays minimal at a name with many RRsets (the apex: SOA, NS, MX, TXT, CAA): one HINFO', () => {
  const r = q('shop.example.test', 'ANY');
  assert.deepEqual(rows(r.packet.answers).map((x) => x[0]), ['HINFO']);
  assert.deepEqual(r.packet.additionals?.map((a) => a.type), ['OPT']);
});

test('additional data that does not fit is dropped without TC; the answer stays', () => {
  // Without EDNS the MX answer (2 records) fits 512 bytes; shrink the room with a long name
  // instead: the answer alone fits, the answer with A and AAAA glue does not.
  const mx = Array.from({ length: 6 }, (_, i) => ({ name: '@', type: 'MX' as const, value: `${i} mail${i}.shop.example.test.`, ttlSec: 60 }));
  const glue = Array.from({ length: 6 }, (_, i) => [
    { name: `mail${i}`, type: 'A' as const, value: `192.0.2.${i + 1}`, ttlSec: 60 },
    { name: `mail${i}`, type: 'AAAA' as const, value: `2001:db8::${i + 1}`, ttlSec: 60 },
  ]).flat();
  const ctx = context({ records: [...mx, ...glue] });
  const small = ask(queryBytes('shop.example.test', 'MX'), ctx);
  assert.deepEqual([small.tc, answersOf(small, 'MX').length, small.packet.additionals?.length], [false, 6, 0]);
  assert.ok(small.raw.length <= 512);
  const roomy = ask(queryBytes('shop.example.test', 'MX', { opt: opt(1232) }), ctx);
  assert.deepEqual([roomy.tc, answersOf(roomy, 'MX').length, roomy.packet.additionals?.length], [false, 6, 13]);
});

test('static record TTLs: the record\'s own; records of one RRset given different TTLs share the lowest', () => {
  const ctx = context({
    records: [
      { name: 'x', type: 'TXT', value: 'one', ttlSec: 600 },
      { name: 'x', type: 'TXT', value: 'two', ttlSec: 60 },
      { name: 'x', type: 'TXT', value: 'one', ttlSec: 600 },
    ],
  });
  assert.deepEqual(rows(ask(queryBytes('x.shop.example.test', 'TXT'), ctx).packet.answers), [
    ['TXT', 'x.shop.example.test', 60, 'one'],
    ['TXT', 'x.shop.example.test', 60, 'two'],
  ]);
});
