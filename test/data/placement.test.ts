import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeRead, placeWrite, type PlacementView, type TablePlan } from '../../src/data/index.js';
import { regionId, type RegionId } from '../../src/lib/index.js';

const us = regionId('us-east-1');
const euW = regionId('eu-west-1');
const euC = regionId('eu-central-1');

function view(self: RegionId, down: RegionId[] = [], leaders: Record<string, RegionId> = {}): PlacementView {
  const eu = [euW, euC];
  return {
    self,
    primary: us,
    allowedFor: (home) => (eu.includes(home) ? [home, ...eu.filter((r) => r !== home)] : [home, ...[us, euW, euC].filter((r) => r !== home)]),
    isKnown: (r) => [us, euW, euC].includes(r as RegionId),
    leaderOf: (home) => leaders[home] ?? home,
    isUp: (r) => !down.includes(r),
    byDistance: () => [us, euW, euC].filter((r) => r !== self),
    foreignStrict: () => (eu.includes(self) ? [] : [[euW, euC]]),
  };
}

const home: TablePlan = { kind: 'home', homeFrom: 'client', consistency: 'strong', survive: 'zone' };
const byField: TablePlan = { kind: 'home', homeFrom: { field: 'region' }, consistency: 'strong', survive: 'zone' };
const primary: TablePlan = { kind: 'global', writes: 'primary' };
const anywhere: TablePlan = { kind: 'global', writes: 'anywhere' };

describe('placement of writes', () => {
  it('after a failover, home rows are written at the partition\'s new leader', () => {
    assert.deepEqual(placeWrite(view(us, [euW], { [euW]: euC }), home, { home: euW, local: false }, false), { at: 'forward', to: [euC], why: "a write runs at eu-central-1, leading eu-west-1's rows" });
    assert.deepEqual(placeWrite(view(euC, [euW], { [euW]: euC }), home, { home: euW, local: true }, false), { at: 'local' });
  });
  it('home rows write at their home; never in a region residency forbids', () => {
    assert.deepEqual(placeWrite(view(us), home, { home: euW, local: false }, false), { at: 'forward', to: [euW], why: "a write runs at the row's home eu-west-1" });
    assert.deepEqual(placeWrite(view(euW), home, { home: euW, local: true }, false), { at: 'local' });
    const down = placeWrite(view(us, [euW]), home, { home: euW, local: false }, false);
    assert.ok(down.at === 'refuse' && down.status === 503 && down.error === 'region_unreachable' && /residency forbids/.test(down.reason));
    const inEu = placeWrite(view(euC, [euW]), home, { home: euW, local: true }, false);
    assert.ok(inEu.at === 'refuse' && inEu.error === 'leader_unreachable', 'survive: zone writes wait for their home');
  });
  it('a new key outside a strict jurisdiction is searched for there first, then homed here', () => {
    assert.deepEqual(placeWrite(view(us), home, { home: null, local: false }, false), { at: 'search', among: [euW] });
    assert.deepEqual(placeWrite(view(us, [euW]), home, { home: null, local: false }, false), { at: 'search', among: [euC] }, 'the nearest reachable EU region');
    assert.deepEqual(placeWrite(view(us), home, { home: null, local: false }, true), { at: 'local' });
    assert.deepEqual(placeWrite(view(euW), home, { home: null, local: false }, false), { at: 'local' }, 'no strict jurisdiction elsewhere');
  });
  it('home_from field without the field is a 400; unknown home is a 400', () => {
    assert.equal((placeWrite(view(us), byField, { home: null, local: false }, false) as { status?: number }).status, 400);
    assert.equal((placeWrite(view(us), home, { home: regionId('mars-1'), local: false }, false) as { status?: number }).status, 400);
  });
  it('writes: primary go to the primary, anywhere and counters stay', () => {
    assert.deepEqual(placeWrite(view(euW), primary, { home: null, local: false }, false), { at: 'forward', to: [us], why: 'writes to this table go to the primary us-east-1' });
    assert.equal((placeWrite(view(euW, [us]), primary, { home: null, local: false }, false) as { error?: string }).error, 'leader_unreachable');
    assert.deepEqual(placeWrite(view(euW, [us]), anywhere, { home: null, local: false }, false), { at: 'local' });
    assert.deepEqual(placeWrite(view(euW, [us]), { kind: 'counter' }, { home: null, local: false }, false), { at: 'local' });
  });
});

describe('placement of reads', () => {
  const never = (): undefined => undefined;
  it('strong reads run at the leader (the primary for primary tables); none for tables written anywhere', () => {
    assert.equal((placeRead(view(us), anywhere, { home: null, local: true }, { kind: 'strong' }, never, 0) as { status?: number }).status, 400);
    assert.deepEqual(placeRead(view(euC), home, { home: euW, local: true }, { kind: 'strong' }, never, 0), { at: 'forward', to: [euW], why: "a strong read runs at the row's home eu-west-1" });
    assert.deepEqual(placeRead(view(euC, [euW], { [euW]: euC }), home, { home: euW, local: true }, { kind: 'strong' }, never, 0), { at: 'local' }, 'after failover eu-central-1 leads');
    assert.deepEqual(placeRead(view(us, [], { [euW]: euC }), home, { home: euW, local: false }, { kind: 'strong' }, never, 0), { at: 'forward', to: [euC], why: "a strong read runs at eu-central-1, leading eu-west-1's rows" });
    assert.deepEqual(placeRead(view(euW), primary, { home: null, local: true }, { kind: 'strong' }, never, 0).at, 'forward');
    assert.deepEqual(placeRead(view(us), anywhere, { home: null, local: false }, { kind: 'local' }, never, 0), { at: 'local' });
  });
  it('a row homed in a strict jurisdiction is read there, from any reachable allowed region', () => {
    assert.deepEqual(placeRead(view(us), home, { home: euW, local: false }, { kind: 'local' }, never, 0), { at: 'forward', to: [euW, euC], why: 'rows homed in eu-west-1 are stored only in eu-west-1, eu-central-1' });
    assert.deepEqual(placeRead(view(us, [euW]), home, { home: euW, local: false }, { kind: 'local' }, never, 0).at, 'forward');
    assert.equal((placeRead(view(us, [euW, euC]), home, { home: euW, local: false }, { kind: 'local' }, never, 0) as { status?: number }).status, 503);
  });
  it('max_staleness: local only with proof of freshness, else the home or the primary', () => {
    const at = (ms: number) => (): number => ms;
    const c = { kind: 'max_staleness' as const, ms: 500 };
    assert.deepEqual(placeRead(view(euC), home, { home: euW, local: true }, c, at(9_600), 10_000), { at: 'local' });
    assert.equal(placeRead(view(euC), home, { home: euW, local: true }, c, at(9_400), 10_000).at, 'forward');
    assert.equal(placeRead(view(euC), home, { home: euW, local: true }, c, never, 10_000).at, 'forward', 'never heard from: not fresh');
    assert.equal(placeRead(view(euW), primary, { home: null, local: true }, c, at(9_000), 10_000).at, 'forward');
    assert.equal((placeRead(view(euW), anywhere, { home: null, local: true }, c, at(9_000), 10_000) as { error?: string }).error, 'not_fresh');
    assert.deepEqual(placeRead(view(euW), anywhere, { home: null, local: true }, c, at(9_900), 10_000), { at: 'local' });
  });
});
