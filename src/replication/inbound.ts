// One inbound stream (one source's log -> this region) as a state machine. PURE.
//
// Batches from a source are applied in order, exactly once: the part after the applied
// watermark is applied (the store does it in one transaction with the new watermark), a
// batch wholly at or below it is a duplicate, and one that starts beyond it is a gap. A
// gap is often only reordering (pipelined batches travel on separate connections), so a
// bounded number of early batches wait, parked, for the one before them; a parked batch
// that waits too long, or finds no room, is answered "gap, expected N" and the source
// goes back to N.
//
// Like etcd raft's Ready/Advance: an `apply` effect is followed by an `applied` input
// (the shell ran the transaction, or it failed); only then does the watermark move and the
// next parked batch come up.

import { assert, unreachable } from '../lib/index.js';
import type { LoggedChange } from '../store/index.js';
import type { BatchMessage, BatchReply } from './messages.js';

export interface ParkedBatch {
  readonly batch: BatchMessage;
  readonly untilMs: number;
}

export interface InboundState {
  readonly source: string;
  /** Everything up to here from the source is applied (and persisted). */
  readonly applied: number;
  /** The source's clock up to which this region holds everything it committed. */
  readonly sourceMs: number;
  /** The batch whose transaction the shell is running, if any. */
  readonly applying: null | { readonly id: number; readonly lastSeq: number; readonly sourceMs: number };
  /** Ordered by firstSeq; at most `maxParked`. */
  readonly parked: readonly ParkedBatch[];
}

export interface InboundLimits {
  readonly maxParked: number;
  readonly parkMs: number;
}

export type InboundInput =
  | { readonly kind: 'batch'; readonly nowMs: number; readonly batch: BatchMessage }
  | { readonly kind: 'applied'; readonly nowMs: number; readonly ok: boolean }
  | { readonly kind: 'tick'; readonly nowMs: number }
  /** A snapshot from the source ended: this region holds everything up to `seq`. */
  | { readonly kind: 'restored'; readonly nowMs: number; readonly seq: number; readonly sourceMs: number };

export type InboundEffect =
  /** Apply these changes and move the watermark, in one transaction; then input `applied`. */
  | { readonly kind: 'apply'; readonly id: number; readonly changes: readonly LoggedChange[]; readonly watermark: { readonly applied: number; readonly sourceMs: number } }
  | { readonly kind: 'reply'; readonly id: number; readonly reply: BatchReply }
  /** The apply failed: answer the batch with an error (the source retries). */
  | { readonly kind: 'refuse'; readonly id: number }
  /** Persist the watermark alone (the end of a snapshot). */
  | { readonly kind: 'persist'; readonly applied: number; readonly sourceMs: number }
  /** Tick at this time (a parked batch's deadline). */
  | { readonly kind: 'wake'; readonly atMs: number };

export interface InboundStep {
  readonly state: InboundState;
  readonly effects: readonly InboundEffect[];
}

export function initialInbound(source: string, applied: number, sourceMs: number): InboundState {
  return { source, applied, sourceMs, applying: null, parked: [] };
}

export function stepInbound(s: InboundState, input: InboundInput, lim: InboundLimits): InboundStep {
  switch (input.kind) {
    case 'batch':
      return onBatch(s, input.batch, input.nowMs, lim);
    case 'applied': {
      assert(s.applying !== null, 'applied follows apply');
      const a = s.applying;
      if (!input.ok) return { state: { ...s, applying: null }, effects: [{ kind: 'refuse', id: a.id }] };
      const state: InboundState = { ...s, applying: null, applied: Math.max(s.applied, a.lastSeq), sourceMs: Math.max(s.sourceMs, a.sourceMs) };
      const next = unpark(state, input.nowMs, lim);
      return { state: next.state, effects: [{ kind: 'reply', id: a.id, reply: { result: 'applied', applied: state.applied } }, ...next.effects] };
    }
    case 'tick': {
      const expired = s.parked.filter((p) => p.untilMs <= input.nowMs);
      if (expired.length === 0) return { state: s, effects: [] };
      const state = { ...s, parked: s.parked.filter((p) => p.untilMs > input.nowMs) };
      return { state, effects: expired.map((p) => gap(state, p.batch.id)) };
    }
    case 'restored': {
      assert(s.applying === null, 'a snapshot ends between applies');
      // Never backwards: a snapshot that raced with batches leaves the higher watermark.
      const state = { ...s, applied: Math.max(s.applied, input.seq), sourceMs: Math.max(s.sourceMs, input.sourceMs) };
      const next = unpark(state, input.nowMs, lim);
      return { state: next.state, effects: [{ kind: 'persist', applied: state.applied, sourceMs: state.sourceMs }, ...next.effects] };
    }
    default:
      return unreachable(input);
  }
}

function onBatch(s: InboundState, b: BatchMessage, nowMs: number, lim: InboundLimits): InboundStep {
  assert(b.source === s.source, 'a batch reaches the stream of its source');
  assert(b.firstSeq >= 1 && b.lastSeq >= b.firstSeq - 1, 'a batch covers a range (empty for a heartbeat)');
  // The shell applies synchronously, so a batch never arrives mid-apply.
  assert(s.applying === null, 'one apply at a time');
  if (b.firstSeq > s.applied + 1) {
    // Early. A heartbeat never waits: it means the source thinks this region is caught up,
    // and it is not.
    const heartbeat = b.lastSeq < b.firstSeq;
    const parked = s.parked.filter((p) => p.batch.firstSeq !== b.firstSeq);
    const superseded = s.parked.filter((p) => p.batch.firstSeq === b.firstSeq).map((p) => gap(s, p.batch.id));
    if (heartbeat || parked.length >= lim.maxParked) return { state: { ...s, parked }, effects: [...superseded, gap(s, b.id)] };
    const untilMs = nowMs + lim.parkMs;
    const state = { ...s, parked: [...parked, { batch: b, untilMs }].sort((x, y) => x.batch.firstSeq - y.batch.firstSeq) };
    return { state, effects: [...superseded, { kind: 'wake', atMs: untilMs }] };
  }
  if (b.lastSeq < s.applied) return { state: s, effects: [{ kind: 'reply', id: b.id, reply: { result: 'duplicate', applied: s.applied } }] };
  // From here the batch reaches at least the watermark: apply what is new (perhaps
  // nothing: a heartbeat still moves the source's clock, persisted with the watermark).
  const changes = b.changes.filter((c) => c.seq > s.applied);
  for (const c of changes) assert(c.seq >= b.firstSeq && c.seq <= b.lastSeq, 'a batch holds only changes in its range');
  const state: InboundState = { ...s, applying: { id: b.id, lastSeq: b.lastSeq, sourceMs: b.sourceMs } };
  return { state, effects: [{ kind: 'apply', id: b.id, changes, watermark: { applied: Math.max(s.applied, b.lastSeq), sourceMs: Math.max(s.sourceMs, b.sourceMs) } }] };
}

/** After an apply: the first parked batch, if it now fits, comes up; those it makes
 *  duplicates are answered. */
function unpark(s: InboundState, nowMs: number, lim: InboundLimits): InboundStep {
  const effects: InboundEffect[] = [];
  let state = s;
  for (const p of s.parked) {
    if (p.batch.firstSeq > state.applied + 1) break;
    state = { ...state, parked: state.parked.filter((q) => q !== p) };
    const r = onBatch(state, p.batch, nowMs, lim);
    state = r.state;
    effects.push(...r.effects);
    if (state.applying !== null) break;
  }
  return { state, effects };
}

function gap(s: InboundState, id: number): InboundEffect {
  return { kind: 'reply', id, reply: { result: 'gap', expected: s.applied + 1 } };
}
