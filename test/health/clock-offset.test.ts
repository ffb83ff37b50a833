import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clockVerdict, sampleOffset } from '../../src/health/index.js';

describe('clock offsets from health probes', () => {
  it('estimates a peer\'s offset from the midpoint of the probe, within half its round trip', () => {
    assert.deepEqual(sampleOffset(1000, 1040, 1520), { offsetMs: 500, uncertaintyMs: 20, atMs: 1040 });
    assert.deepEqual(sampleOffset(1000, 1010, 995), { offsetMs: -10, uncertaintyMs: 5, atMs: 1010 });
  });
  it('stops strong operations when most recent peers are provably beyond the maximum offset', () => {
    const far = new Map([['a', sampleOffset(0, 10, 905)], ['b', sampleOffset(0, 10, 1005)], ['c', sampleOffset(0, 10, 5)]]);
    const v = clockVerdict(far, 500, 20, 5000);
    assert.equal(v.ok, false);
    assert.match((v as { reason: string }).reason, /more than 500 ms .* from 2 of 3 peers \(a \+900 ms, b \+1000 ms\)/);
  });
  it('a lone peer that is off, an uncertain estimate, or old samples do not stop it', () => {
    assert.equal(clockVerdict(new Map([['a', sampleOffset(0, 10, 905)], ['b', sampleOffset(0, 10, 5)]]), 500, 20, 5000).ok, true, 'one of two');
    assert.equal(clockVerdict(new Map([['a', sampleOffset(0, 1000, 1050)]]), 500, 1000, 5000).ok, true, '±500: not provably beyond');
    assert.equal(clockVerdict(new Map([['a', sampleOffset(0, 10, 905)]]), 500, 10_000, 5000).ok, true, 'too old');
    assert.equal(clockVerdict(new Map(), 500, 0, 5000).ok, true);
  });
});
