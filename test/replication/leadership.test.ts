import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { caughtUp, initialLeadership, mayServe, stepLeadership, type LeadershipConfig, type LeadershipEffect, type LeadershipState } from '../../src/replication/index.js';

const cfg: LeadershipConfig = { leaseTtlMs: 2000, safetyMarginMs: 200, renewEveryMs: 500, rankDelayMs: 300, failback: 'auto' };
const order = ['eu-west-1', 'eu-central-1', 'eu-south-1'];

function run(s: LeadershipState, inputs: Parameters<typeof stepLeadership>[1][]): { s: LeadershipState; fx: LeadershipEffect[] } {
  const fx: LeadershipEffect[] = [];
  for (const i of inputs) {
    const r = stepLeadership(s, i, cfg);
    s = r.state;
    fx.push(...r.effects);
  }
  return { s, fx };
}

describe('leadership of a home partition (pure)', () => {
  it('the home takes a free lease at once, catches up, then serves until the lease runs out', () => {
    let { s, fx } = run(initialLeadership('eu-west-1', 'eu-west-1', order), [{ kind: 'observed', holder: null, nowMs: 0 }]);
    assert.deepEqual(fx, [{ kind: 'take', epoch: 1 }]);
    ({ s, fx } = run(s, [{ kind: 'granted', epoch: 1, sentAtMs: 0, nowMs: 10 }]));
    assert.deepEqual(fx, [{ kind: 'catch-up', epoch: 1 }]);
    assert.equal(mayServe(s, 20).ok, false, 'not before catching up');
    const c = caughtUp(s, 1);
    s = c.state;
    assert.deepEqual(c.effects, [{ kind: 'serve', epoch: 1 }]);
    assert.deepEqual(mayServe(s, 20), { ok: true, epoch: 1 });
    ({ s, fx } = run(s, [{ kind: 'tick', nowMs: 600 }]));
    assert.deepEqual(fx, [{ kind: 'renew', epoch: 1 }]);
    // the renewal is never confirmed: it stops serving before the coordinator could expire it
    assert.equal(mayServe(s, 1799).ok, true);
    assert.equal(mayServe(s, 1800).ok, false, 'validity: sent at 0 + ttl 2000 - margin 200');
    ({ fx } = run(s, [{ kind: 'tick', nowMs: 1800 }]));
    assert.equal(fx[0]?.kind, 'stop-serving');
  });

  it('the synchronous follower waits for the home while it is up, and takes over when it is down', () => {
    const first = run(initialLeadership('eu-west-1', 'eu-central-1', order), [{ kind: 'observed', holder: null, nowMs: 0 }, { kind: 'tick', nowMs: 299 }]);
    const s = first.s;
    let fx = first.fx;
    assert.deepEqual(fx, [], 'the home is ahead of it');
    ({ fx } = run(s, [{ kind: 'tick', nowMs: 300 }]));
    assert.deepEqual(fx, [{ kind: 'take', epoch: 1 }], 'one rank delay later it tries too: the coordinator picks one');
    ({ fx } = run(initialLeadership('eu-west-1', 'eu-central-1', order), [{ kind: 'health', region: 'eu-west-1', up: false, nowMs: 0 }, { kind: 'observed', holder: { region: 'eu-west-1', epoch: 4 }, nowMs: 0 }, { kind: 'observed', holder: null, nowMs: 2100 }]));
    assert.deepEqual(fx, [{ kind: 'take', epoch: 5 }], 'the next epoch, at once');
    const third = run(initialLeadership('eu-west-1', 'eu-south-1', order), [{ kind: 'health', region: 'eu-west-1', up: false, nowMs: 0 }, { kind: 'observed', holder: null, nowMs: 0 }, { kind: 'tick', nowMs: 299 }]);
    assert.deepEqual(third.fx, [], 'the third candidate leaves the follower its head start');
  });

  it('a leader the coordinator no longer shows stops at once; a deposed one reconciles with the new leader', () => {
    let { s } = run(initialLeadership('eu-west-1', 'eu-west-1', order), [{ kind: 'observed', holder: null, nowMs: 0 }, { kind: 'granted', epoch: 3, sentAtMs: 0, nowMs: 5 }]);
    s = caughtUp(s, 3).state;
    const r = run(s, [{ kind: 'observed', holder: { region: 'eu-central-1', epoch: 4 }, nowMs: 100 }]);
    assert.deepEqual(r.fx, [{ kind: 'stop-serving', epoch: 3, reason: 'the coordinator shows eu-central-1 (epoch 4)' }, { kind: 'reconcile', leader: { region: 'eu-central-1', epoch: 4 } }]);
    assert.equal(mayServe(r.s, 100).ok, false);
    const restarted = run(initialLeadership('eu-west-1', 'eu-west-1', order, 3), [{ kind: 'observed', holder: { region: 'eu-central-1', epoch: 4 }, nowMs: 0 }]);
    assert.deepEqual(restarted.fx, [{ kind: 'reconcile', leader: { region: 'eu-central-1', epoch: 4 } }], 'after a restart too, from the epoch in its store');
  });

  it('a deposed region asks to take a free key (the coordinator judges eligibility); a grant ends the deposition', () => {
    // Restarted after leading epoch 3 and seeing its own epoch 4 take (whose answer was lost):
    // the key is free again, and waiting for a reconcile here would wait forever (test/sim 865).
    const free = run(initialLeadership('eu-west-1', 'eu-west-1', order, 3), [
      { kind: 'observed', holder: { region: 'eu-west-1', epoch: 4 }, nowMs: 0 },
      { kind: 'observed', holder: null, nowMs: 10 },
    ]);
    assert.equal(free.s.deposedFrom, 3);
    assert.deepEqual(free.fx, [{ kind: 'take', epoch: 5 }]);
    assert.equal(run(free.s, [{ kind: 'granted', epoch: 5, sentAtMs: 10, nowMs: 20 }]).s.deposedFrom, null);
  });

  it('fails back to the home once it has caught up (auto), stopping before releasing', () => {
    let { s } = run(initialLeadership('eu-west-1', 'eu-central-1', order), [{ kind: 'health', region: 'eu-west-1', up: false, nowMs: 0 }, { kind: 'observed', holder: null, nowMs: 0 }, { kind: 'granted', epoch: 5, sentAtMs: 0, nowMs: 1 }]);
    s = caughtUp(s, 5).state;
    const notYet = run(s, [{ kind: 'health', region: 'eu-west-1', up: true, nowMs: 100 }]);
    assert.ok(notYet.fx.every((e) => e.kind !== 'release'), 'the home is up but not caught up');
    const back = run(notYet.s, [{ kind: 'caught-up', region: 'eu-west-1', epoch: 5, nowMs: 150 }]);
    assert.deepEqual(back.fx, [{ kind: 'stop-serving', epoch: 5, reason: 'failing back to eu-west-1' }, { kind: 'release', epoch: 5 }]);
    // after the release, it can lead again later (a release leaves nothing pending)
    const later = run(back.s, [{ kind: 'observed', holder: { region: 'eu-west-1', epoch: 6 }, nowMs: 200 }, { kind: 'health', region: 'eu-west-1', up: false, nowMs: 300 }, { kind: 'observed', holder: null, nowMs: 3000 }]);
    assert.deepEqual(later.fx, [{ kind: 'take', epoch: 7 }], 'the follower takes over again when the home is lost again');
    const m = stepLeadership(notYet.s, { kind: 'caught-up', region: 'eu-west-1', epoch: 5, nowMs: 150 }, { ...cfg, failback: 'manual' });
    assert.ok(m.effects.every((e) => e.kind !== 'release'), 'failback: manual keeps leading');
  });

  // Regions, a coordinator granting leases at receive time with expiry receive + TTL, and
  // messages that take random time: whatever the schedule, at no instant do two regions
  // pass mayServe, and epochs only grow.
  it('never two regions serving at once, under random delays, crashes and health flaps (property)', () => {
    const op = fc.record({ who: fc.integer({ min: 0, max: 2 }), what: fc.constantFrom('tick', 'crash', 'flap'), dt: fc.integer({ min: 1, max: 400 }), delay: fc.integer({ min: 0, max: 1500 }) });
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 120 }), (ops) => {
        let now = 0;
        const coord: { holder: { region: string; epoch: number; expiresMs: number } | null } = { holder: null };
        let epoch = 0;
        const states = order.map((r) => initialLeadership('eu-west-1', r, order));
        const inflight: { at: number; to: number; input: Parameters<typeof stepLeadership>[1] }[] = [];
        const apply = (i: number, input: Parameters<typeof stepLeadership>[1]): void => {
          const r = stepLeadership(states[i] as LeadershipState, input, cfg);
          states[i] = r.state;
          for (const e of r.effects) {
            const region = order[i] as string;
            if (e.kind === 'take' || e.kind === 'renew') {
              // the request arrives at the coordinator `delay` later; the answer comes back at once
              const sent = now;
              const arrive = now + (inflight.length % 3) * 100;
              if (coord.holder !== null && coord.holder.expiresMs <= arrive) coord.holder = null;
              let answer: Parameters<typeof stepLeadership>[1];
              if (e.kind === 'take' && coord.holder === null) {
                epoch++;
                coord.holder = { region, epoch, expiresMs: arrive + cfg.leaseTtlMs };
                answer = { kind: 'granted', epoch, sentAtMs: sent, nowMs: arrive };
              } else if (e.kind === 'renew' && coord.holder !== null && coord.holder.region === region && coord.holder.epoch === e.epoch) {
                coord.holder = { ...coord.holder, expiresMs: arrive + cfg.leaseTtlMs };
                answer = { kind: 'granted', epoch: e.epoch, sentAtMs: sent, nowMs: arrive };
              } else answer = { kind: 'refused', holder: coord.holder, nowMs: arrive };
              inflight.push({ at: arrive + 1, to: i, input: answer });
            } else if (e.kind === 'release') {
              if (coord.holder !== null && coord.holder.region === region) coord.holder = null;
            } else if (e.kind === 'catch-up') {
              states[i] = caughtUp(states[i] as LeadershipState, e.epoch).state;
            }
          }
        };
        for (const o of ops) {
          now += o.dt;
          if (coord.holder !== null && coord.holder.expiresMs <= now) coord.holder = null;
          inflight.sort((a, b) => a.at - b.at);
          while (inflight.length > 0 && (inflight[0]?.at ?? Infinity) <= now) {
            const m = inflight.shift()!;
            apply(m.to, { ...m.input, nowMs: now } as Parameters<typeof stepLeadership>[1]);
          }
          if (o.what === 'crash') states[o.who] = initialLeadership('eu-west-1', order[o.who] as string, order, states[o.who]?.leading?.epoch ?? null);
          else if (o.what === 'flap') for (let i = 0; i < 3; i++) apply(i, { kind: 'health', region: order[o.who] as string, up: o.dt % 2 === 0, nowMs: now });
          // every region observes the coordinator, some late (a slow watch)
          for (let i = 0; i < 3; i++) if ((i + o.delay) % 2 === 0) apply(i, { kind: 'observed', holder: coord.holder && { region: coord.holder.region, epoch: coord.holder.epoch }, nowMs: now });
          for (let i = 0; i < 3; i++) apply(i, { kind: 'tick', nowMs: now });
          const serving = states.map((s, i) => ({ i, m: mayServe(s, now) })).filter((x) => x.m.ok);
          assert.ok(serving.length <= 1, `two leaders at ${now}: ${JSON.stringify(serving)}`);
          if (serving.length === 1) {
            assert.ok(coord.holder !== null && coord.holder.region === order[serving[0]!.i], 'a serving region holds the lease in the coordinator');
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
