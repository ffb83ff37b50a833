import { test } from 'node:test';
import assert from 'node:assert/strict';
import { route } from '../../src/routing/index.js';
import { down, latency, london, order, query, reasonOf, sydney, table, unlocated } from './fixtures.js';
import { regionId } from '../../src/lib/index.js';
import { LatencyModel, loadRegionCatalog } from '../../src/geo/index.js';

const three = table(['us-east-1', 'eu-west-1', 'ap-southeast-1']);

test('latency: a London client gets eu-west-1 first, then the rest by RTT', () => {
  const d = route(three, query(london));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.deepEqual(order(d), ['eu-west-1', 'us-east-1', 'ap-southeast-1']);
  assert.equal(d.allDown, false);
  assert.equal(reasonOf(d, 'eu-west-1'), 'nearest healthy by measured RTT: 18.4 ms (from eu-west-2, nearest to the client, plus fibre)');
  assert.match(d.summary, /^latency policy → eu-west-1: nearest healthy by measured RTT: 18\.4 ms/);
});

test('latency: a Sydney client gets ap-southeast-1', () => {
  const d = route(three, query(sydney));
  assert.deepEqual(d.answer, ['ap-southeast-1']);
  assert.match(reasonOf(d, 'ap-southeast-1'), /^nearest healthy by measured RTT: \d+(\.\d)? ms \(from ap-southeast-2, nearest to the client, plus fibre\)$/);
});

test('latency: every rank carries the client RTT from the latency model', () => {
  const d = route(three, query(london));
  for (const r of d.ranked) {
    assert.equal(r.rttMs, latency.clientRtt(london.location!, r.region).ms);
  }
});

test('latency: with eu-west-1 down, London goes to the next nearest (eu-central-1, then us-east-1)', () => {
  const four = table(['us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-1']);
  const d = route(four, query(london, down('eu-west-1')));
  assert.deepEqual(d.answer, ['eu-central-1']);
  assert.deepEqual(order(d), ['eu-central-1', 'us-east-1', 'ap-southeast-1', 'eu-west-1']);
  assert.equal(reasonOf(d, 'eu-west-1'), 'eu-west-1 down since 2025-05-29T12:03:04Z, ranked after healthy regions; measured RTT: 18.4 ms (from eu-west-2, nearest to the client, plus fibre)');
  assert.match(d.summary, /passed over down: eu-west-1$/);

  const alsoFrankfurt = route(four, query(london, down('eu-west-1', 'eu-central-1')));
  assert.deepEqual(alsoFrankfurt.answer, ['us-east-1']);
});

test('latency: a region missing from the health map counts as up', () => {
  const d = route(three, query(london, new Map([[regionId('us-east-1'), { up: false }]])));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.equal(d.ranked.find((r) => r.region === 'eu-west-1')?.up, true);
  assert.equal(reasonOf(d, 'us-east-1'), 'us-east-1 down, ranked after healthy regions; measured RTT: 93.8 ms (from eu-west-2, nearest to the client, plus fibre)');
});

test('latency: equal RTTs keep config order', () => {
  // Two edge sites at the same spot have the same estimate from anywhere; the config's
  // order decides, whichever way round it lists them.
  const twins = new LatencyModel(loadRegionCatalog(), [
    { id: regionId('edge-a'), lat: 48.1, lon: 11.6 },
    { id: regionId('edge-b'), lat: 48.1, lon: 11.6 },
  ]);
  const ab = route(table(['edge-a', 'edge-b'], { latency: twins }), query(london));
  const ba = route(table(['edge-b', 'edge-a'], { latency: twins }), query(london));
  assert.equal(ab.ranked[0]!.rttMs, ab.ranked[1]!.rttMs);
  assert.deepEqual(order(ab), ['edge-a', 'edge-b']);
  assert.deepEqual(order(ba), ['edge-b', 'edge-a']);
});

test('latency: unknown client location falls back to config order and says so', () => {
  const d = route(three, query(unlocated));
  assert.deepEqual(order(d), ['us-east-1', 'eu-west-1', 'ap-southeast-1']);
  assert.deepEqual(d.answer, ['us-east-1']);
  assert.ok(d.ranked.every((r) => r.rttMs === null));
  assert.equal(reasonOf(d, 'us-east-1'), 'client location unknown: config order, first healthy (1st in config)');
  assert.equal(reasonOf(d, 'ap-southeast-1'), 'client location unknown: config order (3rd in config)');

  const firstDown = route(three, query(unlocated, down('us-east-1')));
  assert.deepEqual(firstDown.answer, ['eu-west-1']);
  assert.match(reasonOf(firstDown, 'eu-west-1'), /^client location unknown: config order, first healthy \(2nd in config\)$/);
});
