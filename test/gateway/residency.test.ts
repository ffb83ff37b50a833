// Data residency at the edge, over real sockets: with `data.residency: { eu: strict }`, a
// cacheable response that eu-west-1 served (home forwarding, failover) is not stored in
// us-east-1's cache; the other way round, and for us-east-1's own responses, it is.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { noStoreFrom } from '../../src/gateway/index.js';
import { get, topology, twoRegions } from './fixtures.js';

const octet = 39;
const us = `127.${octet}.1.1`;
const eu = `127.${octet}.2.1`;

describe('data residency in the edge cache', { timeout: 30_000 }, () => {
  const t = topology(octet, { data: { residency: { eu: 'strict' } } });
  const regions = twoRegions(t, octet);
  const { usLog, euLog } = regions;
  before(() => regions.start());
  after(() => regions.stop());

  it('a cacheable response eu-west-1 served is not stored in us-east-1, and eu-west-1 is asked each time', async () => {
    const home = { 'x-meridian-home': 'eu-west-1' };
    const a = await get(us, '/cached/eu-data', { headers: home });
    const b = await get(us, '/cached/eu-data', { headers: home });
    assert.equal(a.h('x-meridian-region'), 'eu-west-1');
    assert.equal(a.h('cache-control'), 'public, max-age=60', 'the response itself says it may be cached');
    assert.equal(b.h('x-meridian-cache'), 'miss');
    assert.equal(b.h('x-meridian-region'), 'eu-west-1');
    assert.notEqual(b.text, a.text, 'the second answer is a new one from eu-west-1');
    assert.equal(euLog.filter((l) => l.url === '/cached/eu-data').length, 2);
    // Without the home header the same URL comes from us-east-1's app, and that is stored.
    await get(us, '/cached/eu-data');
    assert.equal((await get(us, '/cached/eu-data')).h('x-meridian-cache'), 'hit');
  });

  it('a response us-east-1 served (not strict) is stored in eu-west-1', async () => {
    const home = { 'x-meridian-home': 'us-east-1' };
    const a = await get(eu, '/cached/us-data', { headers: home });
    assert.equal(a.h('x-meridian-region'), 'us-east-1');
    const b = await get(eu, '/cached/us-data', { headers: home });
    assert.equal(b.h('x-meridian-cache'), 'hit');
    assert.equal(b.text, a.text);
    // Served from eu-west-1's cache: its own x-meridian-* fields, once each, not us-east-1's.
    assert.deepEqual(b.all('x-meridian-region'), ['eu-west-1']);
    assert.equal(b.all('x-meridian-route').length, 1);
    assert.match(b.h('x-meridian-route') ?? '', /^cache hit \(age \d+s\)$/);
    assert.match(b.h('server-timing') ?? '', /^gateway;dur=[\d.]+;desc="eu-west-1"/);
    assert.equal(usLog.filter((l) => l.url === '/cached/us-data').length, 1);
  });

  it('noStoreFrom: strict jurisdictions other than this region\'s own', () => {
    const regions = [{ id: 'us-east-1', jurisdiction: 'us' }, { id: 'eu-west-1', jurisdiction: 'eu' }, { id: 'eu-central-1', jurisdiction: 'eu' }, { id: 'ap-1', jurisdiction: 'jp' }];
    assert.deepEqual(noStoreFrom('us-east-1', regions, { eu: 'strict', jp: 'none' }), ['eu-west-1', 'eu-central-1']);
    assert.deepEqual(noStoreFrom('eu-west-1', regions, { eu: 'strict' }), [], 'within the EU, EU data may be cached');
    assert.deepEqual(noStoreFrom('us-east-1', regions, {}), []);
  });
});
