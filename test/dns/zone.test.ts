import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeridianError } from '../../src/lib/index.js';
import { compileZone, DnsServer } from '../../src/dns/index.js';
import { defaultAnswer, zoneOptions } from './fixtures.js';

const base = zoneOptions(defaultAnswer);

test('zone: names are lower-cased, the trailing dot dropped, glue grouped by nameserver', () => {
  const z = compileZone(base);
  assert.equal(z.apex, 'shop.example.test');
  assert.deepEqual(z.nameservers, ['ns1.shop.example.test', 'ns2.shop.example.test']);
  assert.deepEqual(z.nodes.get('ns1.shop.example.test'), { v4: ['192.0.2.53'], v6: ['2001:db8::53'], isApex: false });
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
