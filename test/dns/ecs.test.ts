import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientOf, echoData, ipv4SubnetNumber, parseClientSubnet, resolverClient, scopeFor } from '../../src/dns/ecs.js';

test('ECS: an IPv4 /24 is read and the address masked', () => {
  const r = parseClientSubnet(Buffer.from([0, 1, 24, 0, 81, 2, 69]));
  assert.ok(r.ok);
  assert.deepEqual([r.subnet.family, r.subnet.sourcePrefixLength, r.subnet.address], [1, 24, '81.2.69.0']);
  assert.deepEqual(clientOf(r.subnet, '10.0.0.1'), { ip: '81.2.69.0', prefixLength: 24, source: 'ecs' });
  assert.equal(scopeFor(r.subnet, true), 24);
  assert.equal(scopeFor(r.subnet, false), 0);
});

test('ECS: a short address is zero-padded, a non-zero scope in the query ignored', () => {
  const r = parseClientSubnet(Buffer.from([0, 2, 48, 9, 0x20, 0x01, 0x0d, 0xb8]));
  assert.ok(r.ok);
  assert.equal(r.subnet.address, '2001:db8::');
  assert.equal(r.subnet.sourcePrefixLength, 48);
});

test('ECS: /32 and /128 are allowed, the scope capped at 24 and 56', () => {
  const v4 = parseClientSubnet(Buffer.from([0, 1, 32, 0, 1, 2, 3, 4]));
  const v6 = parseClientSubnet(Buffer.from([0, 2, 128, 0, ...Array.from({ length: 16 }, (_, i) => i)]));
  assert.ok(v4.ok && v6.ok);
  assert.equal(v4.subnet.address, '1.2.3.4');
  assert.deepEqual([scopeFor(v4.subnet, true), scopeFor(v6.subnet, true)], [24, 56]);
});

test('ECS: unknown family, over-long prefix, too many address bytes, too short: not decodable', () => {
  for (const bytes of [[0, 0, 0, 0], [0, 1, 33, 0], [0, 2, 129, 0], [0, 1, 8, 0, 1, 2, 3, 4, 5], [0, 1, 8]]) {
    const r = parseClientSubnet(Buffer.from(bytes));
    assert.equal(r.ok, false, JSON.stringify(bytes));
  }
});

test('ECS: source prefix 0 means the resolver decides', () => {
  const r = parseClientSubnet(Buffer.from([0, 1, 0, 0]));
  assert.ok(r.ok);
  assert.deepEqual(clientOf(r.subnet, '198.51.100.9'), { ip: '198.51.100.9', prefixLength: 32, source: 'resolver' });
  assert.deepEqual(resolverClient('2001:db8::5'), { ip: '2001:db8::5', prefixLength: 128, source: 'resolver' });
});

test('ECS: the echo keeps the query bytes and sets only the scope', () => {
  const raw = Buffer.from([0, 1, 20, 0, 81, 2, 69]);
  const r = parseClientSubnet(raw);
  assert.ok(r.ok);
  assert.deepEqual(echoData(r.subnet, 20), Buffer.from([0, 1, 20, 20, 81, 2, 69]));
  assert.deepEqual(raw, Buffer.from([0, 1, 20, 0, 81, 2, 69]), 'the query bytes are not changed');
});

test('ipv4SubnetNumber: a canonical dotted quad cut to its prefix, as a number; anything else null', () => {
  assert.equal(ipv4SubnetNumber('81.2.69.160', 24), ((81 * 256 + 2) * 256 + 69) * 256);
  assert.equal(ipv4SubnetNumber('81.2.69.160', 32), ((81 * 256 + 2) * 256 + 69) * 256 + 160);
  assert.equal(ipv4SubnetNumber('255.255.255.255', 1), 2 ** 31);
  assert.equal(ipv4SubnetNumber('203.0.113.9', 0), 0);
  for (const ip of ['01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.256', '1..2.3', '::1', '::ffff:1.2.3.4', '', ' 1.2.3.4', '1.2.3.4 ']) assert.equal(ipv4SubnetNumber(ip, 24), null, ip);
  assert.equal(ipv4SubnetNumber('1.2.3.4', 33), null);
});
