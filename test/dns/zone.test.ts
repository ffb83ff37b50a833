import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeridianError } from '../../src/lib/index.js';
import { compileZone, DnsServer } from '../../src/dns/index.js';
import type { DnsStaticRecord } from '../../src/dns/index.js';
import { defaultAnswer, zoneOptions } from './fixtures.js';

const base = zoneOptions(defaultAnswer);

test('zone: names are lower-cased, the trailing dot dropped, glue grouped by nameserver', () => {
  const z = compileZone(base);
  assert.equal(z.apex, 'shop.example.test');
  assert.deepEqual(z.nameservers, ['ns1.shop.example.test', 'ns2.shop.example.test']);
  const ns1 = z.nodes.get('ns1.shop.example.test');
  assert.deepEqual([...(ns1?.rrsets.entries() ?? [])].map(([type, set]) => [type, set.answers.map((a) => 'data' in a && a.data)]), [
    [1, ['192.0.2.53']],
    [28, ['2001:db8::53']],
  ]);
  assert.equal(ns1?.isApex, false);
  assert.equal(z.nodes.get('www.shop.example.test')?.policyHost, 'www');
  assert.equal(z.nodes.get('shop.example.test')?.policyHost, '@');
});

test('zone: an out-of-zone nameserver is listed without glue', () => {
  const z = compileZone({ ...base, nameservers: [...base.nameservers, { name: 'ns.other.test', address: '192.0.2.99' }] });
  assert.ok(z.nameservers.includes('ns.other.test'));
  assert.equal(z.nodes.has('ns.other.test'), false);
});

test('zone: an rname written as a mailbox is converted', () => {
  assert.equal(compileZone({ ...base, soa: { ...base.soa, rname: 'dns.ops@shop.example.test' } }).soa.rname, 'dns\\.ops.shop.example.test');
});

test('zone: config mistakes are typed errors with a hint', () => {
  const bad = [
    { ...base, zone: 'bad..zone' },
    { ...base, hosts: ['www', 'WWW'] },
    { ...base, nameservers: [] },
    { ...base, nameservers: [{ name: 'ns1.shop.example.test', address: 'nope' }] },
    { ...base, nameservers: [{ name: 'www.shop.example.test', address: '192.0.2.1' }] },
    { ...base, soa: { ...base.soa, minimumSec: -1 } },
  ];
  for (const opts of bad) {
    assert.throws(() => compileZone(opts), (err: unknown) => err instanceof MeridianError && err.code === 'dns-config' && typeof err.hint === 'string');
  }
});

test('server options out of range are rejected at construction', () => {
  for (const o of [{ host: 'localhost' }, { port: 70_000 }, { maxUdpPayload: 100 }, { tcpIdleTimeoutMs: 0 }]) {
    assert.throws(() => new DnsServer({ ...base, ...o }), MeridianError, JSON.stringify(o));
  }
});

test('zone: static records land on their names, relative to the zone, @ at the apex, trailing dot absolute', () => {
  const z = compileZone({
    ...base,
    records: [
      { name: '@', type: 'TXT', value: 'apex', ttlSec: 60 },
      { name: 'Deep.Sub', type: 'A', value: '192.0.2.7', ttlSec: 60 },
      { name: 'abs.shop.example.test.', type: 'AAAA', value: '2001:DB8:0::7', ttlSec: 60 },
    ],
  });
  assert.ok(z.nodes.get('shop.example.test')?.rrsets.has(16));
  assert.deepEqual(z.nodes.get('deep.sub.shop.example.test')?.rrsets.get(1)?.answers.map((a) => 'data' in a && a.data), ['192.0.2.7']);
  assert.deepEqual(z.nodes.get('abs.shop.example.test')?.rrsets.get(28)?.answers.map((a) => 'data' in a && a.data), ['2001:db8::7'], 'IPv6 written canonically');
  assert.ok(z.emptyNonTerminals.has('sub.shop.example.test'));
});

test('zone: TXT values: quoted strings with escapes, long text cut into 255-byte strings', () => {
  const txt = (value: string) => {
    const z = compileZone({ ...base, records: [{ name: 't', type: 'TXT', value, ttlSec: 60 }] });
    const [answer] = z.nodes.get('t.shop.example.test')?.rrsets.get(16)?.answers ?? [];
    assert.ok(answer?.type === 'TXT' && Array.isArray(answer.data));
    return answer.data.map((d) => (Buffer.isBuffer(d) ? d : Buffer.from(d)));
  };
  assert.deepEqual(txt('"a \\"quoted\\" word" "\\065\\\\"').map(String), ['a "quoted" word', 'A\\']);
  assert.deepEqual(txt('x'.repeat(600)).map((b) => b.length), [255, 255, 90]);
});

test('zone: bad static records are typed errors naming the record and the form expected', () => {
  const rec = (over: Partial<DnsStaticRecord>): DnsStaticRecord => ({ name: 'x', type: 'A', value: '192.0.2.1', ttlSec: 60, ...over });
  const bad: [DnsStaticRecord[], RegExp][] = [
    [[rec({ value: '2001:db8::1' })], /not A data.*IPv4/],
    [[rec({ type: 'AAAA' })], /not AAAA data/],
    [[rec({ type: 'MX', value: 'mail.shop.example.test' })], /preference/],
    [[rec({ type: 'MX', value: '70000 mail.shop.example.test' })], /preference/],
    [[rec({ type: 'SRV', value: '1 2 mail.shop.example.test' })], /priority/],
    [[rec({ type: 'CAA', value: '0 issue letsencrypt.org' })], /flags/],
    [[rec({ type: 'TXT', value: `"${'y'.repeat(256)}"` })], /255 bytes/],
    [[rec({ type: 'TXT', value: '"a""b"' })], /quoted/],
    [[rec({ type: 'CNAME', value: 'not a name' })], /domain name/],
    [[rec({ name: 'www' })], /service host/],
    [[rec({ name: 'www', type: 'CNAME', value: 'x.example.net' })], /service host/],
    [[rec({ name: 'ns1' })], /nameserver/],
    [[rec({ name: '@', type: 'CNAME', value: 'x.example.net' })], /service host/],
    [[rec({ type: 'CNAME', value: 'x.example.net' }), rec({ type: 'TXT', value: 'hi' })], /CNAME cannot share/],
    [[rec({ type: 'TXT', value: 'hi' }), rec({ type: 'CNAME', value: 'x.example.net' })], /CNAME cannot share/],
    [[rec({ type: 'CNAME', value: 'a.example.net' }), rec({ type: 'CNAME', value: 'b.example.net' })], /at most one CNAME/],
    [[rec({ name: 'other.test.' })], /outside the zone/],
    [[rec({ name: 'bad name' })], /not a valid domain name/],
    [[rec({ ttlSec: -1 })], /TTL/],
    [[rec({ ttlSec: 1.5 })], /TTL/],
  ];
  for (const [records, message] of bad) {
    assert.throws(() => compileZone({ ...base, records }), (err: unknown) => err instanceof MeridianError && err.code === 'dns-config' && message.test(`${err.message} ${err.hint}`), JSON.stringify(records));
  }
  // The apex holds the SOA and NS even when it is not a service host.
  assert.throws(() => compileZone({ ...base, hosts: ['www'], records: [rec({ name: '@', type: 'CNAME', value: 'x.example.net' })] }), /CNAME cannot share/);
});

test('zone: CNAME loops and over-long chains are refused at compile time, so a query never loops', () => {
  const cname = (name: string, to: string): DnsStaticRecord => ({ name, type: 'CNAME', value: `${to}.shop.example.test.`, ttlSec: 60 });
  assert.throws(() => compileZone({ ...base, records: [cname('a', 'b'), cname('b', 'a')] }), /CNAME loop: a\.shop\.example\.test -> b\.shop\.example\.test -> a/);
  assert.throws(() => compileZone({ ...base, records: [cname('self', 'self')] }), /CNAME loop/);
  const long = Array.from({ length: 10 }, (_, i) => cname(`c${i}`, `c${i + 1}`));
  assert.throws(() => compileZone({ ...base, records: long }), /longer than 8/);
  const ok = Array.from({ length: 8 }, (_, i) => cname(`c${i}`, `c${i + 1}`));
  assert.doesNotThrow(() => compileZone({ ...base, records: ok }), 'a chain of 8 is fine');
});

test('server options out of range: the rate limit and the amplification factor', () => {
  const rateLimit = { responsesPerSecond: 100, burst: 200, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 56 };
  for (const o of [{ burst: 0 }, { slip: -1 }, { slip: 1.5 }, { ipv4PrefixLength: 33 }, { ipv6PrefixLength: 129 }, { responsesPerSecond: -1 }, { maxPrefixes: 0 }]) {
    assert.throws(() => new DnsServer({ ...base, rateLimit: { ...rateLimit, ...o } }), /rateLimit/, JSON.stringify(o));
  }
  assert.doesNotThrow(() => new DnsServer({ ...base, rateLimit: { ...rateLimit, responsesPerSecond: 0, burst: 0 } }), 'off: the rest is not read');
  assert.throws(() => new DnsServer({ ...base, amplificationFactor: -1 }), MeridianError);
});
