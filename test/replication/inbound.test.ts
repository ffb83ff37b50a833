import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initialInbound, stepInbound, type InboundEffect, type InboundInput, type InboundState } from '../../src/replication/inbound.js';
import type { BatchMessage } from '../../src/replication/messages.js';
import type { LoggedChange } from '../../src/store/index.js';

const lim = { maxParked: 2, parkMs: 50 };
const src = 'eu-west-1';

function change(seq: number): LoggedChange {
  return { kind: 'row', seq, committedMs: 1000 + seq, table: 't', key: `k${seq}`, value: `"v${seq}"`, version: { wall: 1000 + seq, logical: 0, region: src }, prev: null, home: null };
}
function batch(id: number, firstSeq: number, lastSeq: number, sourceMs = 5000): BatchMessage {
  const changes: LoggedChange[] = [];
  for (let q = firstSeq; q <= lastSeq; q++) changes.push(change(q));
  return { source: src, id, firstSeq, lastSeq, sourceMs, changes };
}
function run(s: InboundState, input: InboundInput): { s: InboundState; fx: readonly InboundEffect[] } {
  const r = stepInbound(s, input, lim);
  return { s: r.state, fx: r.effects };
}
/** Feeds a batch and, for every apply, its successful outcome; returns the replies. */
function deliver(s0: InboundState, b: BatchMessage, nowMs = 1): { s: InboundState; fx: InboundEffect[] } {
  const fx: InboundEffect[] = [];
  let r = run(s0, { kind: 'batch', nowMs, batch: b });
  for (;;) {
    fx.push(...r.fx);
    if (!r.fx.some((e) => e.kind === 'apply')) return { s: r.s, fx };
    r = run(r.s, { kind: 'applied', nowMs, ok: true });
  }
}
const applies = (fx: readonly InboundEffect[]): number[][] => fx.flatMap((e) => (e.kind === 'apply' ? [e.changes.map((c) => c.seq)] : []));
const replies = (fx: readonly InboundEffect[]): unknown[] => fx.flatMap((e) => (e.kind === 'reply' ? [{ id: e.id, ...e.reply }] : []));

test('applies the next batch with its watermark, then acknowledges it', () => {
  const r = run(initialInbound(src, 0, 0), { kind: 'batch', nowMs: 1, batch: batch(1, 1, 3) });
  assert.deepEqual(r.fx, [{ kind: 'apply', id: 1, changes: batch(1, 1, 3).changes, watermark: { applied: 3, sourceMs: 5000 } }]);
  // The watermark moves only once the shell says the transaction committed.
  assert.equal(r.s.applied, 0);
  const done = run(r.s, { kind: 'applied', nowMs: 2, ok: true });
  assert.equal(done.s.applied, 3);
  assert.deepEqual(replies(done.fx), [{ id: 1, result: 'applied', applied: 3 }]);
});

test('a failed apply is refused and leaves the watermark alone', () => {
  const r = run(initialInbound(src, 0, 0), { kind: 'batch', nowMs: 1, batch: batch(1, 1, 3) });
  const failed = run(r.s, { kind: 'applied', nowMs: 2, ok: false });
  assert.deepEqual(failed.fx, [{ kind: 'refuse', id: 1 }]);
  assert.equal(failed.s.applied, 0);
});

test('a batch at or below the watermark is a duplicate; an overlapping one applies only its new part', () => {
  let { s } = deliver(initialInbound(src, 0, 0), batch(1, 1, 4));
  assert.deepEqual(replies(deliver(s, batch(2, 1, 3)).fx), [{ id: 2, result: 'duplicate', applied: 4 }]);
  const r = deliver(s, batch(3, 3, 6));
  assert.deepEqual(applies(r.fx), [[5, 6]]);
  s = r.s;
  assert.equal(s.applied, 6);
});

test('an early batch is parked until the one before it arrives, then both apply in order', () => {
  let r = deliver(initialInbound(src, 0, 0), batch(2, 4, 6));
  assert.deepEqual(applies(r.fx), []);
  assert.deepEqual(r.fx, [{ kind: 'wake', atMs: 51 }]);
  r = deliver(r.s, batch(1, 1, 3));
  assert.deepEqual(applies(r.fx), [
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual(replies(r.fx), [
    { id: 1, result: 'applied', applied: 3 },
    { id: 2, result: 'applied', applied: 6 },
  ]);
});

test('a parked batch that waits too long, or finds no room, is answered with the expected sequence', () => {
  let r = deliver(initialInbound(src, 2, 0), batch(5, 6, 7));
  r = deliver(r.s, batch(6, 8, 9));
  const full = deliver(r.s, batch(7, 10, 11));
  assert.deepEqual(replies(full.fx), [{ id: 7, result: 'gap', expected: 3 }]);
  const expired = run(r.s, { kind: 'tick', nowMs: 51 });
  assert.deepEqual(replies(expired.fx), [
    { id: 5, result: 'gap', expected: 3 },
    { id: 6, result: 'gap', expected: 3 },
  ]);
  assert.equal(expired.s.parked.length, 0);
});

test('a heartbeat at the watermark moves the source clock; one beyond it is a gap at once', () => {
  const { s } = deliver(initialInbound(src, 0, 0), batch(1, 1, 2, 3000));
  const hb = deliver(s, { source: src, id: 2, firstSeq: 3, lastSeq: 2, sourceMs: 9000, changes: [] });
  assert.equal(hb.s.sourceMs, 9000);
  assert.deepEqual(replies(hb.fx), [{ id: 2, result: 'applied', applied: 2 }]);
  const ahead = deliver(s, { source: src, id: 3, firstSeq: 6, lastSeq: 5, sourceMs: 9000, changes: [] });
  assert.deepEqual(replies(ahead.fx), [{ id: 3, result: 'gap', expected: 3 }]);
  assert.equal(ahead.s.sourceMs, 3000);
});

test('the end of a snapshot raises the watermark, never lowers it, and releases what it makes current', () => {
  let r = deliver(initialInbound(src, 0, 0), batch(9, 11, 12));
  const restored = run(r.s, { kind: 'restored', nowMs: 5, seq: 10, sourceMs: 4000 });
  assert.deepEqual(restored.fx[0], { kind: 'persist', applied: 10, sourceMs: 4000 });
  assert.deepEqual(applies(restored.fx), [[11, 12]]);
  r = { s: run(restored.s, { kind: 'applied', nowMs: 6, ok: true }).s, fx: [] };
  assert.equal(r.s.applied, 12);
  assert.equal(run(r.s, { kind: 'restored', nowMs: 7, seq: 5, sourceMs: 1 }).s.applied, 12);
});
