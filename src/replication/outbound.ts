// One outbound stream (this region's log -> one destination) as a state machine. PURE.
//
// step(state, input) -> { state, effects }, in the manner of etcd's raft: time, the log's
// bounds and the destination's replies come in as inputs; what to send, when to start a
// snapshot and which acknowledgement to persist go out as effects. The shell reads the
// log, does the network I/O and feeds the outcome back in.
//
// Protocol: go-back-N. Up to maxInflight batches of up to maxBatch sequence numbers are in
// flight at once, cut on a cadence (at most one flush per flushMs). A reply acknowledges
// everything up to a sequence; a "gap, expected N" reply, a transport failure or a batch
// unanswered for retryMs discards everything in flight and resends from the last
// acknowledged sequence. A destination whose acknowledged sequence is below the log's first
// entry cannot be caught up from the log: it gets a snapshot.

import { assert, unreachable } from '../lib/index.js';
import type { ReplicationConfig } from './config.js';
import type { BatchReply } from './messages.js';

export interface LogBounds {
  /** The first sequence still in the log (lastSeq + 1 when it is empty). */
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export interface InflightBatch {
  readonly id: number;
  readonly firstSeq: number;
  /** firstSeq - 1 for a heartbeat (an empty range). */
  readonly lastSeq: number;
  readonly sentMs: number;
}

export interface OutboundState {
  readonly dest: string;
  /** The destination holds everything up to here (as far as this source knows). */
  readonly acked: number;
  /** The next batch starts after this. */
  readonly sentUpTo: number;
  /** Oldest first, contiguous. */
  readonly inflight: readonly InflightBatch[];
  readonly nextId: number;
  readonly log: LogBounds;
  readonly lastFlushMs: number;
  /** When anything (a batch, a heartbeat, a snapshot's end) last went out. */
  readonly lastSentMs: number;
  /** After a failure: nothing is sent before this. */
  readonly pausedUntilMs: number;
  readonly snapshot: null | { readonly startedMs: number };
  readonly snapshots: number;
  /** Smoothed time from a batch's send to its reply (ms); 0 until the first reply. */
  readonly rttMs: number;
}

export type OutboundInput =
  | { readonly kind: 'tick'; readonly nowMs: number; readonly log: LogBounds }
  | { readonly kind: 'reply'; readonly nowMs: number; readonly id: number; readonly reply: BatchReply }
  | { readonly kind: 'failed'; readonly nowMs: number; readonly id: number }
  | { readonly kind: 'snapshot_done'; readonly nowMs: number; readonly seq: number }
  | { readonly kind: 'snapshot_failed'; readonly nowMs: number };

export type OutboundEffect =
  /** Read firstSeq..lastSeq from the log and ship it as batch `id` (empty range: heartbeat). */
  | { readonly kind: 'send'; readonly id: number; readonly firstSeq: number; readonly lastSeq: number }
  /** Send the destination everything it may store, then its watermark; report back. */
  | { readonly kind: 'snapshot' }
  /** Persist the acknowledged sequence (log retention reads it after a restart). */
  | { readonly kind: 'persist_ack'; readonly acked: number };

export interface OutboundStep {
  readonly state: OutboundState;
  readonly effects: readonly OutboundEffect[];
}

export function initialOutbound(dest: string, acked: number, log: LogBounds): OutboundState {
  assert(Number.isInteger(acked) && acked >= 0, 'acked is a sequence');
  return { dest, acked, sentUpTo: acked, inflight: [], nextId: 1, log, lastFlushMs: -Infinity, lastSentMs: -Infinity, pausedUntilMs: -Infinity, snapshot: null, snapshots: 0, rttMs: 0 };
}

export function stepOutbound(s: OutboundState, input: OutboundInput, cfg: ReplicationConfig): OutboundStep {
  switch (input.kind) {
    case 'tick':
      return tick({ ...s, log: input.log }, input.nowMs, cfg);
    case 'reply':
      return onReply(withRtt(s, input.id, input.nowMs), input.id, input.reply);
    case 'failed': {
      // Only a batch still in flight matters: an older one was already given up on.
      if (!s.inflight.some((b) => b.id === input.id)) return { state: s, effects: [] };
      return { state: { ...goBack(s), pausedUntilMs: input.nowMs + cfg.retryMs }, effects: [] };
    }
    case 'snapshot_done': {
      assert(s.snapshot !== null, 'a snapshot ends only after it began');
      assert(input.seq >= s.acked, 'a snapshot never moves a destination back');
      const state = { ...s, snapshot: null, acked: input.seq, sentUpTo: input.seq, inflight: [], snapshots: s.snapshots + 1, lastSentMs: input.nowMs };
      return { state, effects: [{ kind: 'persist_ack', acked: input.seq }] };
    }
    case 'snapshot_failed':
      assert(s.snapshot !== null, 'a snapshot fails only after it began');
      return { state: { ...s, snapshot: null, pausedUntilMs: input.nowMs + cfg.retryMs }, effects: [] };
    default:
      return unreachable(input);
  }
}

function tick(s0: OutboundState, nowMs: number, cfg: ReplicationConfig): OutboundStep {
  let s = s0;
  if (s.snapshot !== null) return { state: s, effects: [] };
  const oldest = s.inflight[0];
  if (oldest !== undefined && nowMs - oldest.sentMs >= cfg.retryMs) s = goBack(s); // timed out: resend now
  if (nowMs < s.pausedUntilMs) return { state: s, effects: [] };

  if (s.inflight.length === 0 && s.acked + 1 < s.log.firstSeq) {
    return { state: { ...s, snapshot: { startedMs: nowMs } }, effects: [{ kind: 'snapshot' }] };
  }

  const effects: OutboundEffect[] = [];
  if (nowMs >= s.lastFlushMs + flushEveryMs(s, cfg)) {
    const inflight = [...s.inflight];
    let { sentUpTo, nextId } = s;
    // sentUpTo + 1 >= firstSeq: never cut a batch the log no longer holds the start of.
    while (inflight.length < cfg.maxInflight && sentUpTo < s.log.lastSeq && sentUpTo + 1 >= s.log.firstSeq) {
      const b = { id: nextId++, firstSeq: sentUpTo + 1, lastSeq: Math.min(sentUpTo + cfg.maxBatch, s.log.lastSeq), sentMs: nowMs };
      inflight.push(b);
      effects.push({ kind: 'send', id: b.id, firstSeq: b.firstSeq, lastSeq: b.lastSeq });
      sentUpTo = b.lastSeq;
    }
    if (effects.length > 0) s = { ...s, inflight, sentUpTo, nextId, lastFlushMs: nowMs, lastSentMs: nowMs };
  }

  const idle = s.inflight.length === 0 && s.sentUpTo >= s.log.lastSeq;
  if (idle && nowMs - s.lastSentMs >= cfg.heartbeatMs) {
    const b = { id: s.nextId, firstSeq: s.sentUpTo + 1, lastSeq: s.sentUpTo, sentMs: nowMs };
    s = { ...s, inflight: [b], nextId: s.nextId + 1, lastSentMs: nowMs };
    effects.push({ kind: 'send', id: b.id, firstSeq: b.firstSeq, lastSeq: b.lastSeq });
  }
  assert(s.inflight.length <= cfg.maxInflight, 'in-flight batches stay within their bound');
  return { state: s, effects };
}

/**
 * How often the stream flushes: flushMs, or a window's share of the round trip if that is
 * longer. maxInflight batches then cover a whole round trip on any link, so a change never
 * waits for the window to open: at flushMs alone, 8 batches covered 40 ms of commits, and
 * on a 200 ms link every change committed after those waited for the first reply (bench/data:
 * lag over RTT + 25 ms on the long links). Batches get larger instead, up to maxBatch.
 */
export function flushEveryMs(s: OutboundState, cfg: ReplicationConfig): number {
  return Math.max(cfg.flushMs, s.rttMs / cfg.maxInflight);
}

/** Folds a reply's round trip into the smoothed RTT (TCP's 1/8 gain); heartbeats count too. */
function withRtt(s: OutboundState, id: number, nowMs: number): OutboundState {
  const b = s.inflight.find((x) => x.id === id);
  if (b === undefined) return s;
  const sample = Math.max(0, nowMs - b.sentMs);
  return { ...s, rttMs: s.rttMs === 0 ? sample : s.rttMs + (sample - s.rttMs) / 8 };
}

function onReply(s: OutboundState, id: number, reply: BatchReply): OutboundStep {
  const current = s.inflight.some((b) => b.id === id);
  switch (reply.result) {
    case 'applied':
    case 'duplicate': {
      if (reply.applied <= s.acked) return { state: current ? dropAcked(s, s.acked) : s, effects: [] };
      // The destination may be ahead of what this source knew (a persisted ack that lagged
      // behind a restart): skip ahead with it.
      const acked = reply.applied;
      const state = dropAcked({ ...s, acked, sentUpTo: Math.max(s.sentUpTo, acked) }, acked);
      return { state, effects: [{ kind: 'persist_ack', acked }] };
    }
    case 'gap': {
      // A stale gap (for a batch already given up on) says nothing the resend will not.
      if (!current) return { state: s, effects: [] };
      // The destination's word is the truth, even when it is behind the ack (it lost data):
      // resend from where it is, or snapshot it if the log no longer goes back that far.
      const acked = reply.expected - 1;
      const state = goBack({ ...s, acked });
      return { state, effects: acked === s.acked ? [] : [{ kind: 'persist_ack', acked }] };
    }
    default:
      return unreachable(reply);
  }
}

function dropAcked(s: OutboundState, acked: number): OutboundState {
  // A heartbeat (lastSeq = firstSeq - 1) at the acknowledged point is answered too.
  return { ...s, inflight: s.inflight.filter((b) => b.lastSeq > acked) };
}

function goBack(s: OutboundState): OutboundState {
  return { ...s, inflight: [], sentUpTo: s.acked };
}

/**
 * When this stream next needs a tick (ms), given the log's last sequence now: the shell
 * sleeps until then. Infinity while a snapshot runs (its end is an input of its own).
 */
export function outboundWakeMs(s: OutboundState, cfg: ReplicationConfig, lastSeq: number): number {
  if (s.snapshot !== null) return Infinity;
  let at = Infinity;
  const oldest = s.inflight[0];
  if (oldest !== undefined) at = Math.min(at, oldest.sentMs + cfg.retryMs);
  const pending = s.sentUpTo < lastSeq || s.acked + 1 < s.log.firstSeq;
  if (pending && s.inflight.length < cfg.maxInflight) at = Math.min(at, Math.max(s.lastFlushMs + flushEveryMs(s, cfg), s.pausedUntilMs));
  if (s.inflight.length === 0) at = Math.min(at, Math.max(s.lastSentMs + cfg.heartbeatMs, s.pausedUntilMs));
  return at;
}
