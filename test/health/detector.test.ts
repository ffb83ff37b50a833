import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { initialHealth, observe, type TargetHealth } from '../../src/health/index.js';

const cfg = { downAfter: 3, upAfter: 2 };

function run(results: boolean[], start: TargetHealth = initialHealth(0)): TargetHealth[] {
  const out: TargetHealth[] = [];
  let h = start;
  results.forEach((ok, i) => {
    h = observe(h, { ok, nowMs: (i + 1) * 1000, detail: ok ? 'ok' : 'fail' }, cfg).health;
    out.push(h);
  });
  return out;
}

describe('failure detector', () => {
  it('starts up and goes down only after down_after consecutive failures', () => {
    const hs = run([false, false, true, false, false, false]);
    assert.deepEqual(hs.map((h) => h.up), [true, true, true, true, true, false]);
    assert.equal(hs[5]?.sinceMs, 6000, 'the change is stamped with the probe time');
  });
  it('comes back only after up_after consecutive successes', () => {
    const down = run([false, false, false]).at(-1)!;
    const hs = run([true, false, true, true], down);
    assert.deepEqual(hs.map((h) => h.up), [false, false, false, true]);
  });
  it('reports a change exactly when up flips', () => {
    let h = initialHealth(0);
    const changes: number[] = [];
    [false, false, false, true, true, false].forEach((ok, i) => {
      const r = observe(h, { ok, nowMs: i, detail: '' }, cfg);
      if (r.changed) changes.push(i);
      h = r.health;
    });
    assert.deepEqual(changes, [2, 4]);
  });
  it('property: never down without down_after failures in a row, never back up without up_after successes', () => {
    fc.assert(fc.property(fc.array(fc.boolean(), { maxLength: 60 }), (results) => {
      const hs = run(results);
      hs.forEach((h, i) => {
        const prev = i === 0 ? true : (hs[i - 1] as TargetHealth).up;
        if (prev && !h.up) assert.ok(results.slice(i - cfg.downAfter + 1, i + 1).every((x) => !x) && i + 1 >= cfg.downAfter);
        if (!prev && h.up) assert.ok(results.slice(i - cfg.upAfter + 1, i + 1).every((x) => x));
      });
    }));
  });
});
