// Leadership of one home partition (a home region's rows of the home tables), as seen by
// one allowed region. PURE: time, the coordinator's answers and peers' health come in as
// inputs; what to do comes out as effects (etcd raft style).
//
// The leader holds a lease in the coordinator with an epoch. Safety rests on two rules:
// - a region serves writes only while its lease is valid by its own clock, counted from
//   when it *sent* the request that granted or renewed the lease, minus a margin for
//   clock-rate drift — so it stops before the coordinator can expire the lease and give
//   it to anyone else;
// - a new leader takes the next epoch by compare-and-set, and every change carries its
//   epoch, so replicas can refuse a deposed leader's writes (fencing).
// Who tries to take a free lease: the first region of the partition's candidate order
// (home, then its synchronous follower, then the other allowed regions) that is up in
// this region's view. Later candidates wait longer, so the synchronous follower — which
// holds every acknowledged write — wins when the home is lost.

import { unreachable } from '../lib/index.js';

export interface LeaderRecord {
  readonly region: string;
  readonly epoch: number;
}

export interface LeadershipConfig {
  readonly leaseTtlMs: number;
  /** Taken off the lease's validity on the holder's side: clock-rate drift and the
   *  coordinator's own timer granularity. */
  readonly safetyMarginMs: number;
  /** Renew this often while leading (a fraction of the TTL, so several renewals can fail
   *  before the lease runs out). */
  readonly renewEveryMs: number;
  /** Extra wait per rank in the candidate order before trying to take a free lease. */
  readonly rankDelayMs: number;
  readonly failback: 'auto' | 'manual';
}

export type LeadershipInput =
  | { readonly kind: 'tick'; readonly nowMs: number }
  /** What the coordinator says holds the leader key now (a read or a watch event). */
  | { readonly kind: 'observed'; readonly holder: LeaderRecord | null; readonly nowMs: number }
  /** A take or renewal succeeded; `sentAtMs` is when its request left this region. */
  | { readonly kind: 'granted'; readonly epoch: number; readonly sentAtMs: number; readonly nowMs: number }
  /** A take lost the race, or a renewal found the lease gone. */
  | { readonly kind: 'refused'; readonly holder: LeaderRecord | null; readonly nowMs: number }
  /** The coordinator did not answer (timeout, unreachable). */
  | { readonly kind: 'unavailable'; readonly nowMs: number }
  | { readonly kind: 'health'; readonly region: string; readonly up: boolean; readonly nowMs: number }
  /** The home region has everything this leader committed (failback may proceed). */
  | { readonly kind: 'caught-up'; readonly region: string; readonly epoch: number; readonly nowMs: number }
  /** An operator asks the leader to hand the partition back to its home now. */
  | { readonly kind: 'failback'; readonly nowMs: number };

export type LeadershipEffect =
  | { readonly kind: 'take'; readonly epoch: number }
  | { readonly kind: 'renew'; readonly epoch: number }
  | { readonly kind: 'release'; readonly epoch: number }
  | { readonly kind: 'serve'; readonly epoch: number }
  | { readonly kind: 'stop-serving'; readonly epoch: number; readonly reason: string }
  /** Before serving as a new leader: pull what the partition's other replicas have. */
  | { readonly kind: 'catch-up'; readonly epoch: number }
  /** A deposed leader: reconcile with the new one before anything else (truncate what it
   *  wrote and never had acknowledged). */
  | { readonly kind: 'reconcile'; readonly leader: LeaderRecord };

export interface LeadershipState {
  readonly partition: string;
  readonly self: string;
  /** Home first, then the synchronous follower, then the other allowed regions. */
  readonly candidates: readonly string[];
  readonly holder: LeaderRecord | null;
  /** This region leads, serving writes under this epoch until validUntilMs. */
  readonly leading: { readonly epoch: number; readonly validUntilMs: number; readonly lastRenewSentMs: number; readonly serving: boolean } | null;
  /** A take or renewal in flight (one at a time). */
  readonly pending: 'take' | 'renew' | 'release' | null;
  readonly down: ReadonlySet<string>;
  /** Since when the leader key has been seen free, for the rank delay. */
  readonly freeSinceMs: number | null;
  /** Highest epoch this region has seen for the partition. */
  readonly epochSeen: number;
  /** Led under this epoch and was deposed: reconcile before replicating again. */
  readonly deposedFrom: number | null;
  readonly homeCaughtUp: number | null;
}

/** `ledEpoch`: the last epoch this region led the partition under, from its store — a
 *  restarted leader reconciles before it replicates or leads again. */
export function initialLeadership(partition: string, self: string, candidates: readonly string[], ledEpoch: number | null = null): LeadershipState {
  return { partition, self, candidates, holder: null, leading: null, pending: null, down: new Set(), freeSinceMs: null, epochSeen: ledEpoch ?? 0, deposedFrom: ledEpoch, homeCaughtUp: null };
}

/** May this region accept a write for the partition at `nowMs`? The one check every write makes. */
export function mayServe(s: LeadershipState, nowMs: number): { ok: true; epoch: number } | { ok: false; reason: string } {
  const l = s.leading;
  if (l === null || !l.serving) return { ok: false, reason: s.holder === null ? 'no leader' : `the leader is ${s.holder.region} (epoch ${s.holder.epoch})` };
  if (nowMs >= l.validUntilMs) return { ok: false, reason: `the lease (epoch ${l.epoch}) could not be renewed in time` };
  return { ok: true, epoch: l.epoch };
}

export function step(s: LeadershipState, input: LeadershipInput, c: LeadershipConfig): { state: LeadershipState; effects: LeadershipEffect[] } {
  const fx: LeadershipEffect[] = [];
  let st = s;
  switch (input.kind) {
    case 'tick':
      break;
    case 'observed': {
      const h = input.holder;
      // A release has no answer of its own: what the coordinator shows afterwards is it.
      if (st.pending === 'release') st = { ...st, pending: null };
      st = { ...st, holder: h, epochSeen: Math.max(st.epochSeen, h?.epoch ?? 0), freeSinceMs: h === null ? (st.freeSinceMs ?? input.nowMs) : null };
      if (st.leading !== null && (h === null || h.region !== st.self || h.epoch !== st.leading.epoch)) {
        // The coordinator no longer has us as the leader: stop at once.
        st = depose(st, fx, `the coordinator shows ${h === null ? 'no leader' : `${h.region} (epoch ${h.epoch})`}`);
      }
      if (h !== null && h.region !== st.self && st.deposedFrom !== null && h.epoch > st.deposedFrom) fx.push({ kind: 'reconcile', leader: h });
      // Nobody led after us: nothing to reconcile with.
      if (h === null && st.deposedFrom !== null && st.epochSeen <= st.deposedFrom) st = { ...st, deposedFrom: null };
      break;
    }
    case 'granted': {
      const validUntilMs = input.sentAtMs + c.leaseTtlMs - c.safetyMarginMs;
      if (st.pending === 'take') {
        st = { ...st, pending: null, deposedFrom: null, holder: { region: st.self, epoch: input.epoch }, epochSeen: Math.max(st.epochSeen, input.epoch), freeSinceMs: null, leading: { epoch: input.epoch, validUntilMs, lastRenewSentMs: input.sentAtMs, serving: false } };
        // Serve only after catching up from the other replicas (the synchronous
        // follower already has every acknowledged write; this brings the rest).
        fx.push({ kind: 'catch-up', epoch: input.epoch });
      } else if (st.pending === 'renew' && st.leading !== null && st.leading.epoch === input.epoch) {
        st = { ...st, pending: null, leading: { ...st.leading, validUntilMs: Math.max(st.leading.validUntilMs, validUntilMs) } };
      } else st = { ...st, pending: null };
      break;
    }
    case 'refused':
      st = { ...st, pending: null, holder: input.holder, epochSeen: Math.max(st.epochSeen, input.holder?.epoch ?? 0) };
      if (st.leading !== null) st = depose(st, fx, 'the coordinator refused the renewal');
      break;
    case 'unavailable':
      st = { ...st, pending: null };
      break;
    case 'health': {
      const down = new Set(st.down);
      if (input.up) down.delete(input.region);
      else down.add(input.region);
      st = { ...st, down };
      break;
    }
    case 'caught-up':
      if (st.leading !== null && input.epoch === st.leading.epoch) st = { ...st, homeCaughtUp: input.nowMs };
      break;
    case 'failback':
      if (st.leading !== null && st.self !== st.candidates[0]) st = { ...st, homeCaughtUp: st.homeCaughtUp ?? input.nowMs };
      break;
    default:
      unreachable(input);
  }
  return { state: decide(st, input.nowMs, c, fx), effects: fx };
}

/** Marks the serving part of a caught-up take: the shell calls this after catch-up. */
export function caughtUp(s: LeadershipState, epoch: number): { state: LeadershipState; effects: LeadershipEffect[] } {
  if (s.leading === null || s.leading.epoch !== epoch || s.leading.serving) return { state: s, effects: [] };
  return { state: { ...s, leading: { ...s.leading, serving: true } }, effects: [{ kind: 'serve', epoch }] };
}

function depose(s: LeadershipState, fx: LeadershipEffect[], reason: string): LeadershipState {
  if (s.leading === null) return s;
  fx.push({ kind: 'stop-serving', epoch: s.leading.epoch, reason });
  return { ...s, leading: null, deposedFrom: s.leading.epoch, homeCaughtUp: null };
}

function decide(s: LeadershipState, nowMs: number, c: LeadershipConfig, fx: LeadershipEffect[]): LeadershipState {
  let st = s;
  const l = st.leading;
  if (l !== null) {
    if (nowMs >= l.validUntilMs) return depose(st, fx, 'the lease ran out before a renewal was confirmed');
    const home = st.candidates[0];
    if (c.failback === 'auto' && home !== undefined && home !== st.self && !st.down.has(home) && st.homeCaughtUp !== null && l.serving && st.pending === null) {
      // Hand the partition back: stop serving first, then release the lease, so the
      // home's next epoch never overlaps ours.
      fx.push({ kind: 'stop-serving', epoch: l.epoch, reason: `failing back to ${home}` });
      fx.push({ kind: 'release', epoch: l.epoch });
      return { ...st, leading: null, pending: 'release', homeCaughtUp: null };
    }
    if (st.pending === null && nowMs - l.lastRenewSentMs >= c.renewEveryMs) {
      fx.push({ kind: 'renew', epoch: l.epoch });
      st = { ...st, pending: 'renew', leading: { ...l, lastRenewSentMs: nowMs } };
    }
    return st;
  }
  // Only a key seen free is free: before the first observation nothing is known. A
  // deposed region tries too: the coordinator grants it only if nobody else was granted an
  // epoch after the one it led (takeLeadership's eligibility rule), and then its rows are
  // the newest. (Waiting here for a reconcile blocked for good a region whose own take's
  // answer was lost before a crash: test/sim, seed 865.)
  if (st.holder !== null || st.freeSinceMs === null || st.pending !== null) return st;
  // The key is free: the first up candidate tries, after a delay by its rank.
  const rank = st.candidates.indexOf(st.self);
  if (rank < 0) return st;
  const ahead = st.candidates.slice(0, rank).filter((r) => !st.down.has(r)).length;
  const freeFor = nowMs - st.freeSinceMs;
  if (freeFor < ahead * c.rankDelayMs) return st;
  fx.push({ kind: 'take', epoch: st.epochSeen + 1 });
  return { ...st, pending: 'take' };
}

/** A deposed leader that reconciled (truncated its unacknowledged writes, caught up)
 *  may lead again some day. */
export function reconciled(s: LeadershipState): LeadershipState {
  return { ...s, deposedFrom: null };
}
