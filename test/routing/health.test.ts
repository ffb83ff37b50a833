import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regionId } from '../../src/lib/index.js';
import { route, type RoutingPolicyName } from '../../src/routing/index.js';
import { down, london, order, query, reasonOf, table } from './fixtures.js';

const six = ['us-east-1', 'eu-west-1', 'eu-central-1', 'us-west-2', 'ap-southeast-1', 'sa-east-1'];
const policies: RoutingPolicyName[] = ['latency', 'proximity', 'geolocation', 'weighted', 'failover', 'multivalue'];

test('all down: fail open with every region, and the summary and reasons say so', () => {
  for (const policy of policies) {
    const d = route(table(six, { policy, weights: { 'us-east-1': 1 } }), query(london, down(...six)));
    assert.equal(d.allDown, true, policy);
    assert.equal(d.answer.length, 6, policy);
    assert.deepEqual([...d.answer].sort(), [...six].sort(), policy);
    assert.deepEqual(d.answer, order(d), policy);
    assert.match(d.summary, /^all 6 regions down: answering with all \(fail open\)/, policy);
    for (const r of d.ranked) {
      assert.equal(r.up, false);
      assert.ok(r.reason.startsWith(`all 6 regions down: answering with all (fail open); ${r.region} down since 2025-05-29T12:03:04Z; `), `${policy}: ${r.reason}`);
    }
  }
});

test('all down: the policy still orders the fail-open answer (nearest first under latency)', () => {
  const d = route(table(six), query(london, down(...six)));
  assert.deepEqual(d.answer.slice(0, 2), ['eu-west-1', 'eu-central-1']);
});

test('all down with more than 8 regions: the answer is capped at 8', () => {
  const ten = [...six, 'us-east-2', 'eu-west-2', 'ap-northeast-1', 'ca-central-1'];
  const d = route(table(ten), query(london, down(...ten)));
  assert.equal(d.answer.length, 8);
  assert.match(d.summary, /^all 10 regions down: answering with the first 8 \(fail open\)/);
  assert.match(d.ranked[9]!.reason, /beyond the 8-record answer/);
});

test('all down with one region: answer it anyway', () => {
  const d = route(table(['eu-west-1']), query(london, new Map([[regionId('eu-west-1'), { up: false }]])));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.equal(d.allDown, true);
  assert.match(d.summary, /^the only region is down: answering with it anyway \(fail open\)/);
});

test('a down region is never ranked above an up one, under any policy', () => {
  for (const policy of policies) {
    const d = route(table(six, { policy, weights: { 'eu-west-1': 5, 'us-east-1': 1 }, failoverOrder: [regionId('eu-west-1')] }), query(london, down('eu-west-1', 'eu-central-1')));
    assert.deepEqual(
      d.ranked.map((r) => r.up),
      [true, true, true, true, false, false],
      policy,
    );
    assert.match(reasonOf(d, 'eu-west-1'), /^eu-west-1 down since 2025-05-29T12:03:04Z, ranked after healthy regions; /, policy);
  }
});

test('a region coming back up is ranked by policy again', () => {
  const back = new Map([[regionId('eu-west-1'), { up: true, sinceMs: Date.UTC(2025, 4, 29, 12, 10) }]]);
  assert.deepEqual(route(table(six), query(london, back)).answer, ['eu-west-1']);
});

test('route never reads the clock or randomness', () => {
  const { now } = Date;
  const { random } = Math;
  Date.now = () => assert.fail('route read Date.now()');
  Math.random = () => assert.fail('route read Math.random()');
  try {
    for (const policy of policies) {
      for (const model of ['active-active', 'active-passive', 'geo-partitioned'] as const) {
        route(table(six, { policy, model, primary: regionId('us-east-1') }), query(london, down('us-east-1', 'eu-west-1'), 'sa-east-1'));
        route(table(six, { policy, model }), query(london, down(...six)));
      }
    }
  } finally {
    Date.now = now;
    Math.random = random;
  }
});

test('preconditions: an empty or duplicated region list is a programmer error', () => {
  assert.throws(() => route(table([]), query(london)), /no regions/);
  assert.throws(() => route(table(['eu-west-1', 'eu-west-1']), query(london)), /twice/);
});
