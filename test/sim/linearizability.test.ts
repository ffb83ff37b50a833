import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { mulberry32 } from '../../src/lib/index.js';
import { checkLinearizability, describeCounterexample, type HistoryOp, type RegisterOp, type RegisterValue } from '../../src/world/index.js';

let nextId = 1;
const op = (invokeMs: number, completeMs: number | null, o: RegisterOp, client = 'c'): HistoryOp => ({ id: nextId++, client, invokeMs, completeMs, op: o });
const w = (key: string, value: RegisterValue): RegisterOp => ({ kind: 'write', key, value });
const r = (key: string, output: RegisterValue): RegisterOp => ({ kind: 'read', key, output });
const cas = (key: string, expected: RegisterValue, value: RegisterValue, output: 'ok' | 'fail'): RegisterOp => ({ kind: 'cas', key, expected, value, output });

function verdict(h: readonly HistoryOp[]): string {
  return checkLinearizability(h).verdict;
}

// ---- known good

test('a sequential history whose reads see the latest write is linearizable', () => {
  const h = [op(0, 1, r('k', null)), op(2, 3, w('k', 'a')), op(4, 5, r('k', 'a')), op(6, 7, cas('k', 'a', 'b', 'ok')), op(8, 9, cas('k', 'a', 'c', 'fail')), op(10, 11, r('k', 'b'))];
  assert.equal(verdict(h), 'linearizable');
});

test('overlapping writes may take effect in either order, and reads may see either', () => {
  for (const final of ['a', 'b']) {
    const h = [op(0, 10, w('k', 'a'), 'c1'), op(1, 9, w('k', 'b'), 'c2'), op(11, 12, r('k', final), 'c3'), op(13, 14, r('k', final), 'c3')];
    assert.equal(verdict(h), 'linearizable', `final value ${final}`);
  }
  // A read concurrent with a write may see the old value or the new one.
  assert.equal(verdict([op(0, 10, w('k', 'a')), op(2, 3, r('k', null), 'c2'), op(4, 5, r('k', 'a'), 'c2')]), 'linearizable');
});

test('a pending write may have taken effect, or not', () => {
  const took = [op(0, 1, w('k', 'a')), op(2, null, w('k', 'b'), 'crashed'), op(5, 6, r('k', 'b'), 'c2')];
  const didNot = [op(0, 1, w('k', 'a')), op(2, null, w('k', 'b'), 'crashed'), op(5, 6, r('k', 'a'), 'c2')];
  assert.equal(verdict(took), 'linearizable');
  assert.equal(verdict(didNot), 'linearizable');
  // ...but at one instant: once seen it stays (a later read of the old value is stale).
  assert.equal(verdict([...took, op(7, 8, r('k', 'a'), 'c2')]), 'violation');
});

test('a pending compare-and-set acts on whatever value it met', () => {
  const h = [op(0, 1, w('k', 'a')), op(2, null, cas('k', 'a', 'b', 'ok'), 'crashed'), op(3, 4, r('k', 'b')), op(5, 6, cas('k', 'b', 'c', 'ok')), op(7, 8, r('k', 'c'))];
  assert.equal(verdict(h), 'linearizable');
});

test('keys are independent: each is checked alone', () => {
  const h = [op(0, 10, w('x', '1')), op(0, 10, w('y', '1')), op(11, 12, r('y', '1')), op(13, 14, r('x', '1'))];
  const res = checkLinearizability(h);
  assert.equal(res.verdict, 'linearizable');
  assert.equal(res.verdict === 'linearizable' && res.keys, 2);
});

// ---- known bad

test('a stale read after a completed write is caught, with the operations involved', () => {
  const write = op(0, 1, w('k', 'a'));
  const stale = op(2, 3, r('k', null), 'c2');
  const res = checkLinearizability([write, stale]);
  assert.equal(res.verdict, 'violation');
  if (res.verdict !== 'violation') return;
  assert.equal(res.counterexample.key, 'k');
  assert.equal(res.counterexample.stuck.id, stale.id);
  assert.deepEqual(
    res.counterexample.longestLegal.map((h) => h.id),
    [write.id],
  );
  assert.match(describeCounterexample(res.counterexample), /read\(k\) -> absent/);
});

test('a lost acknowledged write is caught', () => {
  // b was acknowledged after a; later reads see a, as if b never happened.
  const h = [op(0, 1, w('k', 'a')), op(2, 3, w('k', 'b')), op(4, 5, r('k', 'a'), 'c2')];
  assert.equal(verdict(h), 'violation');
});

test('a read of a value never written is caught', () => {
  assert.equal(verdict([op(0, 1, w('k', 'a')), op(0, 2, r('k', 'z'))]), 'violation');
});

test('a compare-and-set that succeeded against a value the register could not hold is caught', () => {
  assert.equal(verdict([op(0, 1, w('k', 'a')), op(2, 3, cas('k', 'b', 'c', 'ok'))]), 'violation');
  assert.equal(verdict([op(0, 1, w('k', 'a')), op(2, 3, cas('k', 'a', 'c', 'fail'))]), 'violation');
});

test('reads that go back in time are caught per key', () => {
  // Both writes overlap, but once one read sees b and a later one sees a, a followed b;
  // a third read seeing b again has nowhere to go.
  const h = [op(0, 10, w('k', 'a')), op(0, 10, w('k', 'b')), op(11, 12, r('k', 'b')), op(13, 14, r('k', 'a')), op(15, 16, r('k', 'b'))];
  assert.equal(verdict(h), 'violation');
});

test('a search cut off by its bound says unknown and why, never a silent pass', () => {
  // Many concurrent writes of distinct values, then a read of a value never written:
  // the search must try every order before it can say "violation".
  const h: HistoryOp[] = [];
  for (let i = 0; i < 14; i++) h.push(op(0, 100, w('k', `v${i}`), `c${i}`));
  h.push(op(101, 102, r('k', 'never')));
  const res = checkLinearizability(h, { maxStates: 500 });
  assert.equal(res.verdict, 'unknown');
  assert.match(res.verdict === 'unknown' ? res.reason : '', /stopped after 500 states/);
});

// ---- property: real executions are linearizable; one impossible read is caught

interface Generated {
  readonly history: HistoryOp[];
}

/** Runs random overlapping operations against one atomic register per key: each takes
 *  effect at a random instant inside its interval (or, if pending, maybe never). */
function execute(seed: number, opsCount: number): Generated {
  const rand = mulberry32(seed);
  const keys = ['a', 'b', 'c'];
  const planned = Array.from({ length: opsCount }, (_, i) => {
    const invokeMs = Math.floor(rand() * 200);
    const completeMs = invokeMs + Math.floor(rand() * 40);
    const atMs = invokeMs + rand() * (completeMs - invokeMs);
    const pending = rand() < 0.1;
    const tookEffect = !pending || rand() < 0.5;
    const key = keys[Math.floor(rand() * keys.length)] as string;
    const kind = rand();
    return { i, invokeMs, completeMs: pending ? null : completeMs, atMs, tookEffect, key, kind, guess: rand() };
  });
  const register = new Map<string, RegisterValue>();
  const written: RegisterValue[] = [null];
  const history: HistoryOp[] = [];
  for (const p of [...planned].sort((x, y) => x.atMs - y.atMs)) {
    const cur = register.get(p.key) ?? null;
    let o: RegisterOp;
    if (p.kind < 0.4) o = { kind: 'read', key: p.key, output: cur };
    else if (p.kind < 0.75) o = { kind: 'write', key: p.key, value: `w${p.i}` };
    else {
      const expected = written[Math.floor(p.guess * written.length)] ?? null;
      o = { kind: 'cas', key: p.key, expected, value: `w${p.i}`, output: expected === cur ? 'ok' : 'fail' };
    }
    if (p.tookEffect && o.kind === 'write') register.set(p.key, o.value);
    if (p.tookEffect && o.kind === 'cas' && o.output === 'ok') register.set(p.key, o.value);
    if (o.kind !== 'read') written.push(o.value);
    history.push({ id: p.i, client: `c${p.i % 5}`, invokeMs: p.invokeMs, completeMs: p.completeMs, op: o });
  }
  return { history };
}

test('histories of a real atomic register are always linearizable', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 60 }), (seed, n) => {
      const res = checkLinearizability(execute(seed, n).history);
      assert.equal(res.verdict, 'linearizable', res.verdict === 'violation' ? describeCounterexample(res.counterexample) : JSON.stringify(res));
    }),
    { numRuns: 300 },
  );
});

test('changing one completed read to a value never written is always caught', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 2, max: 60 }), fc.nat(), (seed, n, pick) => {
      const { history } = execute(seed, n);
      const reads = history.filter((h) => h.op.kind === 'read' && h.completeMs !== null);
      fc.pre(reads.length > 0);
      const target = reads[pick % reads.length] as HistoryOp;
      const mutated = history.map((h) => (h.id === target.id ? { ...h, op: { kind: 'read' as const, key: h.op.key, output: 'impossible' } } : h));
      const res = checkLinearizability(mutated);
      assert.equal(res.verdict, 'violation');
      assert.equal(res.verdict === 'violation' && res.counterexample.key, target.op.key);
    }),
    { numRuns: 300 },
  );
});
