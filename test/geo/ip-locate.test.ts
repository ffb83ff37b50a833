import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientSubnet, GeoLocator } from '../../src/geo/index.js';

// One locator for the file: each database is read once.
const geo = new GeoLocator();

function known(ip: string) {
  const r = geo.lookup(ip);
  assert.equal(r.known, true, `${ip} should be located, got ${JSON.stringify(r)}`);
  if (!r.known) throw new Error('unreachable');
  return r;
}

describe('IP geolocation (DB-IP City Lite)', () => {
  it('locates well-known IPv4 addresses in their countries', () => {
    // Addresses whose country is stable public knowledge.
    const cases: [string, string, string][] = [
      ['81.2.69.160', 'GB', 'EU'], // MaxMind's own test address, London
      ['8.8.8.8', 'US', 'NA'], // Google Public DNS
      ['1.1.1.1', 'AU', 'OC'], // APNIC/Cloudflare research prefix, registered in Australia
      ['200.160.2.3', 'BR', 'SA'], // NIC.br
      ['133.1.1.1', 'JP', 'AS'], // Osaka University
      ['193.0.6.139', 'NL', 'EU'], // RIPE NCC, Amsterdam
    ];
    for (const [ip, country, continent] of cases) {
      const r = known(ip);
      assert.equal(r.country, country, ip);
      assert.equal(r.continent, continent, ip);
    }
  });
  it('gives coordinates inside the country', () => {
    const london = known('81.2.69.160');
    assert.ok(Math.abs(london.lat - 51.5) < 1 && Math.abs(london.lon - -0.1) < 1, JSON.stringify(london));
  });
  it('locates IPv6 addresses', () => {
    const r = known('2a00:1450:4001::1'); // Google, Frankfurt
    assert.equal(r.country, 'DE');
    assert.equal(r.continent, 'EU');
    const mapped = known('::ffff:81.2.69.160');
    assert.equal(mapped.country, 'GB');
    assert.equal(mapped.ip, '81.2.69.160');
  });
  it('answers private, loopback and reserved addresses as unknown, not an error', () => {
    const cases: [string, string][] = [
      ['10.1.2.3', 'private'],
      ['192.168.0.1', 'private'],
      ['172.16.5.4', 'private'],
      ['100.64.0.1', 'private'],
      ['127.0.0.1', 'loopback'],
      ['::1', 'loopback'],
      ['fc00::1', 'private'],
      ['203.0.113.7', 'reserved'],
      ['2001:db8::1', 'reserved'],
      ['0.0.0.0', 'reserved'],
    ];
    for (const [ip, reason] of cases) {
      const r = geo.lookup(ip);
      assert.equal(r.known, false, ip);
      if (!r.known) assert.equal(r.reason, reason, ip);
    }
  });
  it('answers malformed input as invalid', () => {
    for (const bad of ['', 'not-an-ip', '300.1.1.1', '1.2.3', '::g']) {
      const r = geo.lookup(bad);
      assert.equal(r.known, false);
      if (!r.known) assert.equal(r.reason, 'invalid', bad);
    }
  });
});

describe('client subnets', () => {
  it('mask to /24 and /56', () => {
    assert.equal(clientSubnet('81.2.69.160'), '81.2.69.0/24');
    assert.equal(clientSubnet('2a00:1450:4001:81c::200e'), '2a00:1450:4001:800::/56');
    assert.equal(clientSubnet('::ffff:81.2.69.160'), '81.2.69.0/24');
    assert.equal(clientSubnet('nope'), null);
  });
});
