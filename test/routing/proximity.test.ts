import { test } from 'node:test';
import assert from 'node:assert/strict';
import { greatCircleKm } from '../../src/geo/index.js';
import { regionId } from '../../src/lib/index.js';
import { biasedDistanceKm, route } from '../../src/routing/index.js';
import { down, latency, london, order, query, reasonOf, table, unlocated } from './fixtures.js';

const kmFromLondon = (r: string): number => greatCircleKm(london.location!, latency.location(regionId(r))!);

test('proximity: biased distance is distance × (1 − bias/100)', () => {
  assert.equal(biasedDistanceKm(1000, 0), 1000);
  assert.equal(biasedDistanceKm(1000, 25), 750);
  assert.equal(biasedDistanceKm(1000, -50), 1500);
  assert.ok(Math.abs(biasedDistanceKm(1000, 99) - 10) < 1e-9);
  assert.equal(biasedDistanceKm(636, 30), 636 * (1 - 30 / 100));
});

test('proximity: without bias, London is nearest to Dublin (465 km) before Frankfurt (636 km)', () => {
  const d = route(table(['eu-central-1', 'eu-west-1'], { policy: 'proximity' }), query(london));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.equal(reasonOf(d, 'eu-west-1'), 'nearest healthy by geoproximity: 465 km, no bias');
  assert.equal(reasonOf(d, 'eu-central-1'), 'geoproximity: 636 km, no bias');
});

test('proximity: a +30 bias on eu-central-1 flips the London winner (636 × 0.7 = 445 < 465)', () => {
  const d = route(table(['eu-central-1', 'eu-west-1'], { policy: 'proximity', bias: { 'eu-central-1': 30 } }), query(london));
  assert.deepEqual(d.answer, ['eu-central-1']);
  const biased = biasedDistanceKm(kmFromLondon('eu-central-1'), 30);
  assert.equal(biased, kmFromLondon('eu-central-1') * 0.7);
  assert.ok(biased < kmFromLondon('eu-west-1'));
  assert.equal(reasonOf(d, 'eu-central-1'), `nearest healthy by geoproximity: 636 km, bias +30 → ${Math.round(biased)} km biased`);
  assert.equal(Math.round(biased), 445);
});

test('proximity: a +20 bias is not enough (636 × 0.8 = 509 > 465)', () => {
  const d = route(table(['eu-central-1', 'eu-west-1'], { policy: 'proximity', bias: { 'eu-central-1': 20 } }), query(london));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.equal(reasonOf(d, 'eu-central-1'), 'geoproximity: 636 km, bias +20 → 509 km biased');
});

test('proximity: a negative bias shrinks a region’s area (Dublin −50: 465 × 1.5 = 698 > 636)', () => {
  const d = route(table(['eu-west-1', 'eu-central-1'], { policy: 'proximity', bias: { 'eu-west-1': -50 } }), query(london));
  assert.deepEqual(order(d), ['eu-central-1', 'eu-west-1']);
  assert.equal(reasonOf(d, 'eu-west-1'), 'geoproximity: 465 km, bias -50 → 698 km biased');
});

test('proximity: a bias outside −99..99 is held at the bound rather than inverting distance', () => {
  const d = route(table(['eu-west-1', 'eu-central-1'], { policy: 'proximity', bias: { 'eu-central-1': 150 } }), query(london));
  assert.match(reasonOf(d, 'eu-central-1'), /bias \+99 → 6 km biased$/);
});

test('proximity: the winner down, the next by biased distance leads', () => {
  const d = route(table(['eu-central-1', 'eu-west-1', 'us-east-1'], { policy: 'proximity', bias: { 'eu-central-1': 30 } }), query(london, down('eu-central-1')));
  assert.deepEqual(order(d), ['eu-west-1', 'us-east-1', 'eu-central-1']);
});

test('proximity: unknown client location falls back to config order', () => {
  const d = route(table(['us-east-1', 'eu-west-1'], { policy: 'proximity' }), query(unlocated));
  assert.deepEqual(order(d), ['us-east-1', 'eu-west-1']);
  assert.match(reasonOf(d, 'us-east-1'), /^client location unknown: config order/);
});
