import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regionId } from '../../src/lib/index.js';
import { route } from '../../src/routing/index.js';
import { down, london, order, query, reasonOf, table } from './fixtures.js';

const regions = ['us-east-1', 'eu-west-1', 'us-west-2', 'ap-southeast-1'];
const failover = table(regions, { policy: 'failover', failoverOrder: [regionId('us-west-2'), regionId('us-east-1')] });

test('failover: the 1st in failover order serves even when others are nearer', () => {
  const d = route(failover, query(london));
  assert.deepEqual(d.answer, ['us-west-2']);
  assert.equal(reasonOf(d, 'us-west-2'), '1st in failover order');
  assert.equal(reasonOf(d, 'us-east-1'), '2nd in failover order');
  // Regions the order leaves out follow it by latency from the client.
  assert.deepEqual(order(d), ['us-west-2', 'us-east-1', 'eu-west-1', 'ap-southeast-1']);
  assert.match(reasonOf(d, 'eu-west-1'), /^not in failover order; measured RTT: 18\.4 ms/);
});

test('failover: the 1st down, the 2nd serves', () => {
  const d = route(failover, query(london, down('us-west-2')));
  assert.deepEqual(d.answer, ['us-east-1']);
  assert.equal(reasonOf(d, 'us-east-1'), '2nd in failover order: first healthy (us-west-2 down)');
  assert.match(d.summary, /passed over down: us-west-2$/);
});

test('failover: every listed region down, the unlisted ones serve by latency', () => {
  const d = route(failover, query(london, down('us-west-2', 'us-east-1')));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.match(reasonOf(d, 'eu-west-1'), /^not in failover order; nearest healthy by measured RTT: 18\.4 ms/);
});

test('failover: without an order, latency is the order', () => {
  const d = route(table(regions, { policy: 'failover' }), query(london));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.match(reasonOf(d, 'eu-west-1'), /^no failover order configured; nearest healthy by measured RTT/);
});

test('failover: names in the order that are not deployed are ignored', () => {
  const d = route(table(regions, { policy: 'failover', failoverOrder: [regionId('eu-north-1'), regionId('us-east-1')] }), query(london));
  assert.deepEqual(d.answer, ['us-east-1']);
  assert.equal(reasonOf(d, 'us-east-1'), '1st in failover order');
});
