import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fibreRttMs, greatCircleKm, LatencyModel, loadRegionCatalog } from '../../src/geo/index.js';
import { regionId } from '../../src/lib/index.js';

const catalog = loadRegionCatalog();
const model = new LatencyModel(catalog);
const r = regionId;

describe('great-circle distance', () => {
  it('matches known distances within 1%', () => {
    const london = { lat: 51.5074, lon: -0.1278 };
    const newYork = { lat: 40.7128, lon: -74.006 };
    const sydney = { lat: -33.8688, lon: 151.2093 };
    assert.ok(Math.abs(greatCircleKm(london, newYork) - 5570) / 5570 < 0.01);
    assert.ok(Math.abs(greatCircleKm(london, sydney) - 16994) / 16994 < 0.01);
    assert.equal(greatCircleKm(london, london), 0);
  });
  it('is symmetric and bounded by half the circumference', () => {
    const a = { lat: 10, lon: 170 };
    const b = { lat: -10, lon: -10 };
    assert.equal(greatCircleKm(a, b), greatCircleKm(b, a));
    assert.ok(greatCircleKm(a, b) <= Math.PI * 6371.0088 + 1e-6);
  });
});

describe('latency model', () => {
  it('uses the measured matrix between catalog regions', () => {
    const e = model.regionRtt(r('us-east-1'), r('eu-west-1'));
    assert.equal(e.source, 'measured');
    assert.equal(e.ms, catalog.rttMs['us-east-1']?.['eu-west-1']);
    assert.deepEqual(model.regionRtt(r('eu-west-1'), r('us-east-1')).ms, e.ms);
  });
  it('estimates by fibre for a region the matrix lacks', () => {
    const m = new LatencyModel(catalog, [{ id: r('mars-north-1'), lat: 0, lon: 0 }]);
    const e = m.regionRtt(r('mars-north-1'), r('eu-west-1'));
    assert.equal(e.source, 'fibre');
    const km = greatCircleKm({ lat: 0, lon: 0 }, m.location(r('eu-west-1'))!);
    assert.equal(e.ms, Math.round(fibreRttMs(km) * 10) / 10);
  });
  it('states the fibre formula: 200 km/ms, stretch 1.5, 5 ms overhead', () => {
    assert.equal(fibreRttMs(0), 5);
    assert.equal(fibreRttMs(1000), 2 * 1000 * 1.5 / 200 + 5);
  });
  it('anchors a client near a catalog region to the measured route', () => {
    const dublin = { lat: 53.35, lon: -6.26 };
    const e = model.clientRtt(dublin, r('us-east-1'));
    assert.equal(e.source, 'anchored');
    assert.equal(e.via, 'eu-west-1');
    assert.ok(e.ms >= catalog.rttMs['eu-west-1']!['us-east-1']!);
    // Nearer region, lower estimate.
    assert.ok(model.clientRtt(dublin, r('eu-west-1')).ms < e.ms);
  });
  it('falls back to fibre for a client far from every region', () => {
    const pacific = { lat: -30, lon: -140 };
    assert.equal(model.clientRtt(pacific, r('us-west-2')).source, 'fibre');
  });
});
