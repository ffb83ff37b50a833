// The gateway's plain-number histogram must export exactly what prom-client's would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { PlainHistogram } from '../../src/observe/plain-histogram.js';
import { createNodeMetrics } from '../../src/observe/index.js';

const bounds = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

test('property: the same observations give the same exposition text as prom-client\'s Histogram', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('local', 'forward', 'error'), fc.oneof(fc.double({ min: 0, max: 10, noNaN: true }), fc.constantFrom(...bounds))), { maxLength: 60 }), async (obs) => {
      const mine = new Registry();
      const theirs = new Registry();
      for (const r of [mine, theirs]) r.setDefaultLabels({ region: 'eu-west-1' });
      const plain = new PlainHistogram('h_seconds', 'help text', 'route', bounds, mine);
      const ref = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['route'], buckets: bounds, registers: [theirs] });
      for (const [route, v] of obs) {
        plain.of(route).observe(v);
        ref.observe({ route }, v);
      }
      assert.equal(await mine.metrics(), await theirs.metrics());
    }),
    { numRuns: 50 },
  );
});

test('the node\'s gateway requests land in meridian_gateway_request_duration_seconds per route', async () => {
  const m = createNodeMetrics('us-east-1', { regionUp: () => ({}), dnsQueries: () => ({}), dnsRateLimit: () => null });
  m.gatewayRequest('local', 200, 'us-east-1', 0.002);
  m.gatewayRequest('local', 200, 'us-east-1', 0.3);
  m.gatewayRequest('forward', 502, 'eu-west-1', 0.02);
  const text = await m.registry.metrics();
  assert.match(text, /^meridian_gateway_request_duration_seconds_bucket\{le="0.005",region="us-east-1",route="local"\} 1$/m);
  assert.match(text, /^meridian_gateway_request_duration_seconds_bucket\{le="0.5",region="us-east-1",route="local"\} 2$/m);
  assert.match(text, /^meridian_gateway_request_duration_seconds_count\{region="us-east-1",route="forward"\} 1$/m);
  assert.match(text, /^meridian_gateway_request_duration_seconds_sum\{region="us-east-1",route="local"\} 0.302$/m);
  assert.match(text, /^meridian_gateway_requests_total\{route="forward",code="502",served_by="eu-west-1",region="us-east-1"\} 1$/m);
});
