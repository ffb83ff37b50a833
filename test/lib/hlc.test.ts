import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ClockOffsetError, compareHlc, formatHlc, HlcClock, parseHlc, type Hlc } from '../../src/lib/index.js';

describe('hybrid logical clock', () => {
  it('follows physical time and counts within one millisecond', () => {
    const c = new HlcClock('eu-west-1', 500);
    assert.deepEqual(c.now(1000), { wall: 1000, logical: 0, region: 'eu-west-1' });
    assert.deepEqual(c.now(1000), { wall: 1000, logical: 1, region: 'eu-west-1' });
    assert.deepEqual(c.now(999), { wall: 1000, logical: 2, region: 'eu-west-1' }, 'never backwards when the wall clock steps back');
    assert.deepEqual(c.now(1001), { wall: 1001, logical: 0, region: 'eu-west-1' });
  });

  it('moves past a remote version within the offset bound', () => {
    const c = new HlcClock('us-east-1', 500);
    c.now(1000);
    const v = c.observe({ wall: 1200, logical: 7, region: 'eu-west-1' }, 1000);
    assert.deepEqual(v, { wall: 1200, logical: 8, region: 'us-east-1' });
    assert.ok(compareHlc(c.now(1000), { wall: 1200, logical: 7, region: 'eu-west-1' }) > 0);
  });

  it('refuses a remote clock further ahead than the maximum offset, keeping its state', () => {
    const c = new HlcClock('us-east-1', 500);
    const before = c.now(1000);
    assert.throws(() => c.observe({ wall: 1501, logical: 0, region: 'eu-west-1' }, 1000), (e: unknown) => e instanceof ClockOffsetError && e.offsetMs === 501);
    assert.deepEqual(c.current(), before);
  });

  it('orders every event after everything it has seen (property)', () => {
    const step = fc.record({ remote: fc.boolean(), phys: fc.integer({ min: 0, max: 10_000 }), rw: fc.integer({ min: 0, max: 10_400 }), rl: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const c = new HlcClock('a', 1_000_000);
        let seen: Hlc = { wall: 0, logical: 0, region: '' };
        for (const s of steps) {
          const r: Hlc = { wall: s.rw, logical: s.rl, region: 'b' };
          const v = s.remote ? c.observe(r, s.phys) : c.now(s.phys);
          assert.ok(compareHlc(v, seen) > 0, `${formatHlc(v)} after ${formatHlc(seen)}`);
          if (s.remote) assert.ok(compareHlc(v, r) > 0);
          assert.ok(v.wall >= s.phys);
          seen = v;
        }
      }),
    );
  });

  it('formats and parses versions; refuses malformed text', () => {
    const v: Hlc = { wall: 1764150000000, logical: 3, region: 'eu-west-1' };
    assert.deepEqual(parseHlc(formatHlc(v)), v);
    for (const bad of ['', '1.2', '1.2.', 'a.1.eu', '1.2.EU', '1.2.eu west', '1.-2.eu']) assert.equal(parseHlc(bad), null, bad);
  });
});
