import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUtc, ordinal, percentText, rttText, signed } from '../../src/routing/wording.js';
import { regionId } from '../../src/lib/index.js';

test('ordinal handles the teens and the 1/2/3 endings', () => {
  assert.deepEqual([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111].map(ordinal), ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '23rd', '101st', '111th']);
});

test('formatUtc prints UTC, drops zero milliseconds, and survives out-of-range input', () => {
  assert.equal(formatUtc(Date.UTC(2025, 4, 29, 12, 3, 4)), '2025-05-29T12:03:04Z');
  assert.equal(formatUtc(Date.UTC(2025, 4, 29, 12, 3, 4, 250)), '2025-05-29T12:03:04.250Z');
  assert.equal(formatUtc(Number.NaN), 'NaN ms');
  assert.equal(formatUtc(1e20), '100000000000000000000 ms');
});

test('rttText says where the estimate came from', () => {
  assert.equal(rttText({ ms: 18, source: 'anchored', via: regionId('eu-west-2') }), 'measured RTT: 18 ms (from eu-west-2, nearest to the client, plus fibre)');
  assert.equal(rttText({ ms: 70, source: 'measured' }), 'measured RTT: 70 ms');
  assert.equal(rttText({ ms: 42.5, source: 'fibre' }), 'fibre-estimated RTT: 42.5 ms');
});

test('signed and percentText', () => {
  assert.deepEqual([signed(10), signed(-25), signed(0)], ['+10', '-25', '0']);
  assert.deepEqual([percentText(0.75), percentText(1 / 3), percentText(1)], ['75%', '33.3%', '100%']);
});
