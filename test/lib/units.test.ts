import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDurationMs, parseSizeBytes } from '../../src/lib/index.js';

describe('durations', () => {
  it('parse each unit to milliseconds', () => {
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('2m'), 120_000);
    assert.equal(parseDurationMs('1h'), 3_600_000);
    assert.equal(parseDurationMs('1d'), 86_400_000);
    assert.equal(parseDurationMs('1.5s'), 1500);
  });
  it('parse compound durations', () => {
    assert.equal(parseDurationMs('1h30m'), 5_400_000);
    assert.equal(parseDurationMs('1s500ms'), 1500);
  });
  it('refuse durations without a unit or with junk', () => {
    for (const bad of ['', '30', '30 seconds', 's', '1x', '1h 30m', '-1s', '1s!']) assert.equal(parseDurationMs(bad), null, bad);
    assert.equal(parseDurationMs('0'), 0);
  });
});

describe('sizes', () => {
  it('parse decimal and binary units', () => {
    assert.equal(parseSizeBytes('256MB'), 256_000_000);
    assert.equal(parseSizeBytes('1GiB'), 1024 ** 3);
    assert.equal(parseSizeBytes('64KiB'), 65536);
    assert.equal(parseSizeBytes('10kb'), 10_000);
    assert.equal(parseSizeBytes('1048576'), 1048576);
    assert.equal(parseSizeBytes('512 B'), 512);
  });
  it('refuse unknown units', () => {
    for (const bad of ['256 megs', 'MB', '-1MB', '1.2.3MB', '']) assert.equal(parseSizeBytes(bad), null, bad);
  });
});
