import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stableHash, stableUnit } from '../../src/routing/index.js';

test('stableHash is cyrb53: matches the published test vectors', () => {
  // Vectors from the cyrb53 author's README (bryc/code, jshash/experimental/cyrb53.js).
  assert.equal(stableHash('a'), 7929297801672961);
  assert.equal(stableHash('b'), 8684336938537663);
  assert.equal(stableHash('revenge'), 4051478007546757);
  assert.equal(stableHash('revenue'), 8309097637345594);
});

test('stableHash is a 53-bit non-negative integer and changes with the seed', () => {
  for (const s of ['', 'x', '81.2.69.0/24\u0000eu-west-1', 'ü-日本']) {
    const h = stableHash(s);
    assert.ok(Number.isSafeInteger(h) && h >= 0, `${s}: ${h}`);
    assert.notEqual(stableHash(s, 1), h);
  }
});

test('stableUnit stays strictly inside (0, 1) and spreads evenly over 10 buckets', () => {
  const buckets = new Array<number>(10).fill(0);
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const u = stableUnit(`10.${i >> 8}.${i & 255}.0/24\u0000us-east-1`);
    assert.ok(u > 0 && u < 1);
    buckets[Math.floor(u * 10)]! += 1;
  }
  // Each bucket expects 2000; ±10% is over 7 standard deviations for a fair hash.
  for (const count of buckets) assert.ok(Math.abs(count - n / 10) < n / 100, `bucket counts ${buckets.join(',')}`);
});
