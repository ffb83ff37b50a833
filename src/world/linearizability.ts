// A linearizability checker for key-value register histories. PURE.
//
// A history is what clients saw: each operation's invocation and completion times and its
// result. It is linearizable when every operation can be given one instant between its
// invocation and its completion such that, in the order of those instants, every result is
// what a single register would have returned (Herlihy & Wing, 1990).
//
// How: keys are independent registers, so each key is checked alone (P-compositionality:
// a history is linearizable iff each key's sub-history is), which keeps every search small.
// Per key, a depth-first search in the manner of Wing & Gong, with Lowe's memoisation as
// Porcupine and Knossos use it: a search node is (the set of operations already placed,
// the register's value); a node seen before is not explored again. At each node the
// candidates are the unplaced operations invoked before the earliest completion among the
// unplaced completed ones — anything later cannot come next in real-time order.
//
// Operations whose client never heard back (a crash, a timeout) are pending: they may have
// taken effect at any instant after their invocation, or never. The search may place them
// or leave them out; a pending read says nothing and is dropped.
//
// Bounded: the search stops after `maxStates` memoised nodes per key and answers
// 'unknown' with the reason — never a silent pass.

import { assert } from '../lib/index.js';

/** A register's value; null is "absent" (never written, or deleted). */
export type RegisterValue = string | null;

export type RegisterOp =
  /** `output` is what the read returned; unused when pending. */
  | { readonly kind: 'read'; readonly key: string; readonly output: RegisterValue }
  | { readonly kind: 'write'; readonly key: string; readonly value: RegisterValue }
  /** Compare-and-set: `output` 'ok' (it set `value`) or 'fail' (the register held
   *  something other than `expected`); unused when pending. */
  | { readonly kind: 'cas'; readonly key: string; readonly expected: RegisterValue; readonly value: RegisterValue; readonly output: 'ok' | 'fail' };

export interface HistoryOp {
  /** Unique within the history; counterexamples name operations by it. */
  readonly id: number;
  /** Who ran it (for reading a counterexample; the checker does not need it). */
  readonly client?: string;
  readonly invokeMs: number;
  /** null: pending — no answer reached the client, so it may or may not have taken effect.
   *  An operation the client knows failed without effect should be left out instead. */
  readonly completeMs: number | null;
  readonly op: RegisterOp;
}

export interface LinearizabilityOptions {
  /** Memoised search nodes per key before the answer is 'unknown'. */
  readonly maxStates?: number;
  /** The registers' values before the history (absent keys start null). */
  readonly initial?: ReadonlyMap<string, RegisterValue>;
}

export const defaultMaxStates = 200_000;

export interface Counterexample {
  readonly key: string;
  /** The longest order of this key's operations found that every result agrees with. */
  readonly longestLegal: readonly HistoryOp[];
  /** The register's value after `longestLegal`. */
  readonly valueAfter: RegisterValue;
  /** The completed operation that had to come next (its completion was the earliest) and
   *  that no order of the concurrent candidates explains. */
  readonly stuck: HistoryOp;
  /** The operations that could have come next at that point. */
  readonly candidates: readonly HistoryOp[];
}

export type LinearizabilityResult =
  | { readonly verdict: 'linearizable'; readonly keys: number; readonly ops: number; readonly states: number }
  | { readonly verdict: 'violation'; readonly counterexample: Counterexample; readonly states: number }
  | { readonly verdict: 'unknown'; readonly key: string; readonly reason: string; readonly states: number };

export function checkLinearizability(history: readonly HistoryOp[], opts: LinearizabilityOptions = {}): LinearizabilityResult {
  const maxStates = opts.maxStates ?? defaultMaxStates;
  assert(Number.isInteger(maxStates) && maxStates > 0, 'maxStates is a positive integer');
  const ids = new Set<number>();
  const byKey = new Map<string, HistoryOp[]>();
  for (const h of history) {
    assert(!ids.has(h.id), `operation ids are unique (${h.id} repeats)`);
    ids.add(h.id);
    assert(h.completeMs === null || h.completeMs >= h.invokeMs, `operation ${h.id} completes after it is invoked`);
    // A pending read has no effect and nobody saw its result: nothing to check.
    if (h.completeMs === null && h.op.kind === 'read') continue;
    const list = byKey.get(h.op.key);
    if (list === undefined) byKey.set(h.op.key, [h]);
    else list.push(h);
  }
  let states = 0;
  let unknown: { key: string; reason: string } | null = null;
  // Keys in a fixed order so that the same history always gives the same answer.
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key) as HistoryOp[];
    const r = checkKey(key, ops, opts.initial?.get(key) ?? null, maxStates);
    states += r.states;
    if (r.verdict === 'violation') return { verdict: 'violation', counterexample: r.counterexample, states };
    // Keep looking: a definite violation on another key is worth more than 'unknown'.
    if (r.verdict === 'unknown' && unknown === null) unknown = { key, reason: r.reason };
  }
  if (unknown !== null) return { verdict: 'unknown', ...unknown, states };
  return { verdict: 'linearizable', keys: byKey.size, ops: history.length, states };
}

type KeyResult = { verdict: 'ok'; states: number } | { verdict: 'violation'; counterexample: Counterexample; states: number } | { verdict: 'unknown'; reason: string; states: number };

/** The register's possible values after `h` from `v`: none when `h`'s result rules it out. */
function apply(h: HistoryOp, v: RegisterValue, pending: boolean): RegisterValue[] {
  const op = h.op;
  switch (op.kind) {
    case 'read':
      return op.output === v ? [v] : [];
    case 'write':
      return [op.value];
    case 'cas':
      // A pending CAS, placed, did whatever the register made it do.
      if (pending) return [op.expected === v ? op.value : v];
      if (op.output === 'ok') return op.expected === v ? [op.value] : [];
      return op.expected === v ? [] : [v];
  }
}

interface Frame {
  readonly placed: bigint;
  readonly value: RegisterValue;
  readonly order: readonly number[];
}

function checkKey(key: string, unsorted: readonly HistoryOp[], initial: RegisterValue, maxStates: number): KeyResult {
  // Sorted by invocation: the candidates at a node are a prefix of the unplaced ones.
  const ops = [...unsorted].sort((a, b) => a.invokeMs - b.invokeMs || a.id - b.id);
  const n = ops.length;
  const completedMask = ops.reduce((m, h, i) => (h.completeMs === null ? m : m | (1n << BigInt(i))), 0n);
  const seen = new Set<string>();
  const stack: Frame[] = [{ placed: 0n, value: initial, order: [] }];
  // For the counterexample: the deepest node reached, by completed operations placed.
  let deepest: Frame = stack[0] as Frame;
  let deepestCompleted = -1;

  while (stack.length > 0) {
    const f = stack.pop() as Frame;
    if ((f.placed & completedMask) === completedMask) return { verdict: 'ok', states: seen.size };
    const memo = `${f.placed.toString(36)}|${f.value === null ? '\u0000' : 'v' + f.value}`;
    if (seen.has(memo)) continue;
    seen.add(memo);
    if (seen.size > maxStates) {
      return { verdict: 'unknown', reason: `key ${JSON.stringify(key)}: search stopped after ${maxStates} states (${n} operations); raise maxStates or shorten the history`, states: seen.size };
    }
    const done = popCount(f.placed & completedMask);
    if (done > deepestCompleted) {
      deepestCompleted = done;
      deepest = f;
    }
    // The earliest completion among unplaced completed operations bounds the candidates:
    // an operation invoked after it cannot precede it. Invoked at the same instant counts
    // as concurrent (no false alarm from clocks of coarse resolution).
    let horizon = Infinity;
    for (let i = 0; i < n; i++) {
      const c = (ops[i] as HistoryOp).completeMs;
      if (c !== null && !bit(f.placed, i) && c < horizon) horizon = c;
    }
    // Pushed in reverse so the earliest-invoked candidate is explored first.
    const next: Frame[] = [];
    for (let i = 0; i < n; i++) {
      const h = ops[i] as HistoryOp;
      if (h.invokeMs > horizon) break;
      if (bit(f.placed, i)) continue;
      for (const value of apply(h, f.value, h.completeMs === null)) next.push({ placed: f.placed | (1n << BigInt(i)), value, order: [...f.order, i] });
    }
    for (let j = next.length - 1; j >= 0; j--) stack.push(next[j] as Frame);
  }
  return { verdict: 'violation', counterexample: explain(key, ops, deepest, completedMask), states: seen.size };
}

function explain(key: string, ops: readonly HistoryOp[], f: Frame, completedMask: bigint): Counterexample {
  let stuck: HistoryOp | undefined;
  for (let i = 0; i < ops.length; i++) {
    const h = ops[i] as HistoryOp;
    if (!bit(f.placed, i) && bit(completedMask, i) && (stuck === undefined || (h.completeMs as number) < (stuck.completeMs as number))) stuck = h;
  }
  assert(stuck !== undefined, 'a violation leaves a completed operation unplaced');
  const horizon = stuck.completeMs as number;
  const candidates = ops.filter((h, i) => !bit(f.placed, i) && h.invokeMs <= horizon);
  return { key, longestLegal: f.order.map((i) => ops[i] as HistoryOp), valueAfter: f.value, stuck, candidates };
}

const bit = (mask: bigint, i: number): boolean => ((mask >> BigInt(i)) & 1n) === 1n;

function popCount(x: bigint): number {
  let c = 0;
  for (let v = x; v > 0n; v >>= 1n) if ((v & 1n) === 1n) c++;
  return c;
}

/** One line per operation, for a failing test's message or a drill report. */
export function describeOp(h: HistoryOp): string {
  const at = `[${h.invokeMs}, ${h.completeMs ?? 'pending'}]`;
  const who = h.client === undefined ? '' : ` ${h.client}`;
  const op = h.op;
  const show = (v: RegisterValue): string => (v === null ? 'absent' : JSON.stringify(v));
  const pending = h.completeMs === null;
  switch (op.kind) {
    case 'read':
      return `#${h.id}${who} ${at} read(${op.key}) -> ${show(op.output)}`;
    case 'write':
      return `#${h.id}${who} ${at} write(${op.key}, ${show(op.value)})`;
    case 'cas':
      return `#${h.id}${who} ${at} cas(${op.key}, ${show(op.expected)} -> ${show(op.value)})${pending ? '' : ` -> ${op.output}`}`;
  }
}

export function describeCounterexample(c: Counterexample): string {
  const show = (v: RegisterValue): string => (v === null ? 'absent' : JSON.stringify(v));
  return [
    `not linearizable on key ${JSON.stringify(c.key)}:`,
    `  longest legal order (${c.longestLegal.length} ops), leaving the value ${show(c.valueAfter)}:`,
    ...c.longestLegal.map((h) => `    ${describeOp(h)}`),
    `  then ${describeOp(c.stuck)} must take effect by ${String(c.stuck.completeMs)}, and no order of these explains its result:`,
    ...c.candidates.map((h) => `    ${describeOp(h)}`),
  ].join('\n');
}
