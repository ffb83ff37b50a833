// Residency filter, log retention and anti-entropy planning: the pure pieces around the
// streams.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { differingBuckets, digestFromWire, digestToWire, planRepair } from '../../src/replication/anti-entropy.js';
import { batchJson, coversRange, cutBatch } from '../../src/replication/batch.js';
import { batchBody } from '../../src/replication/wire.js';
import { truncationPoint } from '../../src/replication/retention.js';
import type { DigestEntry, LoggedChange } from '../../src/store/index.js';

const jurisdiction: Record<string, string> = { 'eu-west-1': 'eu', 'eu-central-1': 'eu', 'us-east-1': 'us', 'us-west-2': 'us' };
// Strict residency for EU-homed rows; global rows and counters go everywhere.
const mayStoreAt = (region: string, _table: string, home: string | null): boolean => home === null || jurisdiction[home] !== 'eu' || jurisdiction[region] === 'eu';

function logged(seq: number, home: string | null): LoggedChange {
  return { kind: 'row', seq, committedMs: 100 + seq, table: 'users', key: `u${seq}`, value: `{"n":${seq}}`, version: { wall: 100 + seq, logical: 0, region: 'eu-west-1' }, prev: null, home };
}

test('a change homed in an EU region is never in a batch to a US region, and seqs still advance past it', () => {
  const homes = ['eu-west-1', null, 'us-east-1', 'eu-central-1', null];
  const entries = homes.map((h, i) => logged(i + 1, h));
  const cut = { source: 'eu-west-1', id: 7, firstSeq: 1, lastSeq: 5, logLastSeq: 5, nowMs: 999 };
  const us = cutBatch({ ...cut, dest: 'us-east-1' }, entries, mayStoreAt);
  assert.deepEqual(
    us.changes.map((c) => c.seq),
    [2, 3, 5],
  );
  assert.equal(us.firstSeq, 1);
  assert.equal(us.lastSeq, 5);
  const eu = cutBatch({ ...cut, dest: 'eu-central-1' }, entries, mayStoreAt);
  assert.equal(eu.changes.length, 5);
});

test('property: no batch to a region carries a change that region may not store', () => {
  const regions = Object.keys(jurisdiction);
  fc.assert(
    fc.property(fc.array(fc.constantFrom<string | null>(null, ...regions), { minLength: 1, maxLength: 40 }), fc.constantFrom(...regions), (homes, dest) => {
      const entries = homes.map((h, i) => logged(i + 1, h));
      const b = cutBatch({ source: 'eu-west-1', dest, id: 1, firstSeq: 1, lastSeq: entries.length, logLastSeq: entries.length, nowMs: 1 }, entries, mayStoreAt);
      for (const c of b.changes) assert.ok(mayStoreAt(dest, c.table, c.kind === 'row' ? c.home : null));
      // Everything storable goes: the filter drops nothing else.
      assert.equal(b.changes.length, entries.filter((c) => mayStoreAt(dest, c.table, c.kind === 'row' ? c.home : null)).length);
    }),
  );
});

test('a batch that stops short of the log end is fresh only up to before its last commit', () => {
  const entries = [logged(1, null), logged(2, null)];
  assert.equal(cutBatch({ source: 'a', dest: 'b', id: 1, firstSeq: 1, lastSeq: 2, logLastSeq: 2, nowMs: 500 }, entries, mayStoreAt).sourceMs, 500);
  assert.equal(cutBatch({ source: 'a', dest: 'b', id: 1, firstSeq: 1, lastSeq: 2, logLastSeq: 9, nowMs: 500 }, entries, mayStoreAt).sourceMs, 101);
  assert.equal(coversRange(entries, 1, 3), false);
  assert.throws(() => cutBatch({ source: 'a', dest: 'b', id: 1, firstSeq: 1, lastSeq: 3, logLastSeq: 9, nowMs: 500 }, entries, mayStoreAt), /assertion failed/);
});

test('the log is truncated up to the lowest ack, but never keeps more than logKeep entries', () => {
  assert.equal(truncationPoint([40, 25, 90], { firstSeq: 1, lastSeq: 100 }, 1000), 25);
  assert.equal(truncationPoint([40, 25, 90], { firstSeq: 26, lastSeq: 100 }, 1000), null);
  // A destination stuck at 3 no longer holds the log back beyond logKeep.
  assert.equal(truncationPoint([3, 100], { firstSeq: 1, lastSeq: 100 }, 10), 90);
  assert.equal(truncationPoint([], { firstSeq: 1, lastSeq: 7 }, 10), 7);
});

test('property: retention keeps at most logKeep entries, and every entry a destination within that bound still needs', () => {
  fc.assert(
    fc.property(fc.array(fc.nat(500), { maxLength: 5 }), fc.nat(500), fc.integer({ min: 1, max: 600 }), (acks0, lastSeq, logKeep) => {
      const acks = acks0.map((a) => Math.min(a, lastSeq));
      const upTo = truncationPoint(acks, { firstSeq: 1, lastSeq }, logKeep);
      const kept = upTo === null ? lastSeq : lastSeq - upTo;
      assert.ok(kept <= logKeep, `kept ${kept} > logKeep ${logKeep}`);
      for (const a of acks) if (a >= lastSeq - logKeep) assert.ok(upTo === null || upTo <= a, `truncated to ${upTo} past ack ${a}`);
    }),
  );
});

const e = (key: string, wall: number, slot: string | null = null): DigestEntry => ({ key, slot, version: { wall, logical: 0, region: 'r' } });

test('digest comparison lists exactly the buckets that differ', () => {
  const a = [1n, 2n, 3n, 4n];
  assert.deepEqual(differingBuckets(a, [1n, 9n, 3n, 0n]), [1, 3]);
  assert.deepEqual(differingBuckets(a, a), []);
  assert.deepEqual(digestFromWire(digestToWire([0n, 0xffffffffffffffffn, 42n])), [0n, 0xffffffffffffffffn, 42n]);
});

test('repair planning: the newer version goes the other way; entries one side lacks come from the other', () => {
  const plan = planRepair([e('a', 5), e('b', 1), e('c', 3), e('k', 2, 'us'), e('k', 2, 'eu')], [e('a', 4), e('b', 2), e('c', 3), e('d', 1), e('k', 3, 'us')]);
  assert.deepEqual(plan.push.map((x) => `${x.key}/${x.slot ?? ''}`), ['a/', 'k/eu']);
  assert.deepEqual(plan.pull.map((x) => `${x.key}/${x.slot ?? ''}`), ['b/', 'k/us', 'd/']);
});

test('property: after a planned repair both sides hold the newest version of every entry', () => {
  const side = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), fc.nat(5));
  fc.assert(
    fc.property(side, side, (l, r) => {
      const local = Object.entries(l).map(([k, v]) => e(k, v));
      const remote = Object.entries(r).map(([k, v]) => e(k, v));
      const plan = planRepair(local, remote);
      const after = (mine: DigestEntry[], incoming: readonly DigestEntry[]): Map<string, number> => {
        const m = new Map(mine.map((x) => [x.key, x.version.wall]));
        for (const x of incoming) m.set(x.key, Math.max(m.get(x.key) ?? -1, x.version.wall));
        return m;
      };
      const L = after(local, plan.pull);
      const R = after(remote, plan.push);
      assert.deepEqual([...L].sort(), [...R].sort());
      for (const [k, v] of L) assert.equal(v, Math.max(l[k] ?? -1, r[k] ?? -1));
    }),
  );
});

test('property: batchJson writes what JSON.stringify does, and the receiver parses it back, with each change serialised once', () => {
  const change = fc.oneof(
    fc.record({ kind: fc.constant('row' as const), table: fc.string({ maxLength: 8 }), key: fc.string({ maxLength: 8 }), value: fc.option(fc.string({ maxLength: 20 })), prev: fc.constant(null), home: fc.option(fc.constantFrom(...Object.keys(jurisdiction))), epoch: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }) }),
    fc.record({ kind: fc.constant('counter' as const), table: fc.string({ maxLength: 8 }), key: fc.string({ maxLength: 8 }), slot: fc.string({ maxLength: 8 }), p: fc.nat(), n: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(change, { maxLength: 12 }), fc.double({ min: 0, max: 2e12, noNaN: true }), (cs, sourceMs) => {
      const changes = cs.map((c, i) => {
        const { epoch, ...rest } = c as typeof c & { epoch?: number };
        return { ...rest, ...(epoch !== undefined && { epoch }), seq: i + 1, committedMs: 1000 + i, version: { wall: 1000 + i, logical: i, region: 'us-east-1' } } as LoggedChange;
      });
      const b = { source: 'us-east-1', id: 3, firstSeq: 1, lastSeq: changes.length, sourceMs, changes };
      assert.equal(batchJson(b), JSON.stringify(b));
      assert.equal(batchJson(b), JSON.stringify(b), 'the second time, from the cache');
      assert.ok(batchBody.safeParse(JSON.parse(batchJson(b))).success);
    }),
  );
});
