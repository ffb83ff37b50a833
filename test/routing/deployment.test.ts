import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regionId } from '../../src/lib/index.js';
import { route } from '../../src/routing/index.js';
import { down, latency, london, order, query, reasonOf, sydney, table } from './fixtures.js';

const regions = ['us-east-1', 'eu-west-1', 'us-west-2', 'ap-southeast-1'];
const activePassive = table(regions, {
  model: 'active-passive',
  primary: regionId('us-east-1'),
  failoverOrder: [regionId('us-east-1'), regionId('ap-southeast-1')],
});

test('active-passive: the primary serves every client while up, whatever the policy', () => {
  for (const policy of ['latency', 'proximity', 'weighted'] as const) {
    for (const client of [london, sydney]) {
      const d = route({ ...activePassive, policy }, query(client));
      assert.deepEqual(d.answer, ['us-east-1']);
      assert.equal(reasonOf(d, 'us-east-1'), 'active-passive: primary serves');
    }
  }
  assert.equal(route(activePassive, query(london)).summary, 'active-passive → us-east-1: active-passive: primary serves');
});

test('active-passive: standbys follow in failover order, the unlisted by RTT from the primary', () => {
  const d = route(activePassive, query(london));
  // From us-east-1: us-west-2 64.3 ms, eu-west-1 69.6 ms (measured).
  assert.deepEqual(order(d), ['us-east-1', 'ap-southeast-1', 'us-west-2', 'eu-west-1']);
  assert.equal(reasonOf(d, 'ap-southeast-1'), '1st standby in failover order');
  assert.equal(reasonOf(d, 'us-west-2'), 'standby not in failover order, 64.3 ms from primary us-east-1 (measured)');
});

test('active-passive: the primary down, the first healthy standby in failover order leads', () => {
  const d = route(activePassive, query(london, down('us-east-1')));
  assert.deepEqual(d.answer, ['ap-southeast-1']);
  assert.equal(reasonOf(d, 'ap-southeast-1'), 'primary us-east-1 down since 2025-05-29T12:03:04Z: first healthy standby in failover order');
  assert.deepEqual(order(d), ['ap-southeast-1', 'us-west-2', 'eu-west-1', 'us-east-1']);
  assert.equal(reasonOf(d, 'us-east-1'), 'us-east-1 down since 2025-05-29T12:03:04Z, ranked after healthy regions; active-passive: primary serves');
});

test('active-passive: without a failover order, standbys go by RTT from the primary', () => {
  const noOrder = table(regions, { model: 'active-passive', primary: regionId('us-east-1') });
  const d = route(noOrder, query(london, down('us-east-1')));
  const standbys = ['eu-west-1', 'us-west-2', 'ap-southeast-1'].sort(
    (a, b) => latency.regionRtt(regionId('us-east-1'), regionId(a)).ms - latency.regionRtt(regionId('us-east-1'), regionId(b)).ms,
  );
  assert.deepEqual(order(d), [...standbys, 'us-east-1']);
  assert.deepEqual(d.answer, ['us-west-2']);
  assert.equal(reasonOf(d, 'us-west-2'), 'primary us-east-1 down since 2025-05-29T12:03:04Z: first healthy standby by RTT from the primary, 64.3 ms from primary us-east-1 (measured)');
});

test('geo-partitioned: the home region of the request’s data comes first while up', () => {
  const geo = table(regions, { model: 'geo-partitioned' });
  const d = route(geo, query(london, new Map(), 'ap-southeast-1'));
  assert.deepEqual(d.answer, ['ap-southeast-1']);
  assert.equal(reasonOf(d, 'ap-southeast-1'), "home region of the request's data");
  // The rest follow the policy (latency from London).
  assert.deepEqual(order(d), ['ap-southeast-1', 'eu-west-1', 'us-east-1', 'us-west-2']);
  assert.match(d.summary, /^geo-partitioned home → ap-southeast-1/);
});

test('geo-partitioned: the home down, the policy decides and the reason says the home is down', () => {
  const geo = table(regions, { model: 'geo-partitioned' });
  const d = route(geo, query(london, down('ap-southeast-1'), 'ap-southeast-1'));
  assert.deepEqual(d.answer, ['eu-west-1']);
  assert.equal(reasonOf(d, 'eu-west-1'), 'home ap-southeast-1 down since 2025-05-29T12:03:04Z: nearest healthy by measured RTT: 18.4 ms (from eu-west-2, nearest to the client, plus fibre)');
  assert.equal(d.ranked.at(-1)?.region, 'ap-southeast-1');
});

test('geo-partitioned: no home in the request, or one not deployed, leaves it to the policy', () => {
  const geo = table(regions, { model: 'geo-partitioned' });
  assert.deepEqual(route(geo, query(london)).answer, ['eu-west-1']);
  const stray = route(geo, query(london, new Map(), 'eu-north-1'));
  assert.deepEqual(stray.answer, ['eu-west-1']);
  assert.match(reasonOf(stray, 'eu-west-1'), /^home region eu-north-1 is not in this deployment: nearest healthy/);
});
