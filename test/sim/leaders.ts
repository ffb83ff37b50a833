// The simulator's shell around leadership (src/replication/leadership.ts), mirroring
// src/node/leaders.ts move for move, with messages instead of promises:
// - take: one request to the coordinator (grant a lease, CAS leader/<partition> with the
//   next epoch), `sentAtMs` taken when it leaves; markLed before `granted` is fed in;
// - renew: keep-alive of the lease; a lease found gone is `refused` with the holder;
// - no answer within `coordTimeoutMs`: `unavailable`;
// - watch: events from the coordinator (and a periodic read, as a re-watch after a broken
//   stream), older revisions ignored — a watch stream is ordered;
// - the synchronous follower: the next candidate after this region in the partition's
//   order (wrapping) that is up, recorded in the coordinator (sync/<partition>) before a
//   write is acknowledged with it — once per process life and follower, as leaders.ts
//   caches it (`recordSyncFollower`);
// - catch-up (leaders.ts catchUp): read sync/<partition> (again every 200 ms until it
//   answers), pull the partition's rows from that region until a pull succeeds (again
//   every 250 ms; nothing is served meanwhile), then from the other candidates up in this
//   region's view, best effort; then caughtUp(). Abandoned once the take is over;
// - reconcile: the deposed leader pulls the new leader's rows and replaces each row that
//   carries an epoch of its own run of leads (Store.rowsOfOwnLeads) that the leader does not hold at the same
//   version, recording its own in lost writes;
// - a take carries the store's `led` (the epoch this region led and has not reconciled);
//   the coordinator refuses it while another region was granted a later epoch (`ineligible`):
//   the store learns that epoch, and `unavailable` is fed in after the rank delay
//   (leaders.ts setTimeout), so the core asks again then — by when the next leader may have
//   shown itself and been reconciled with.
// `bestEffortCatchUp` turns the follower choice and catch-up back to the code before the
// fix: the first other candidate up, nothing recorded, every candidate up pulled once and a
// failed pull skipped.

import { assert, ClockOffsetError, unreachable } from '../../src/lib/index.js';
import { caughtUp, initialLeadership, mayServe, reconciled, stepLeadership, type LeaderRecord, type LeadershipConfig, type LeadershipEffect, type LeadershipInput, type LeadershipState } from '../../src/replication/index.js';
import { PartitionUnreconciled, type Change, type StoredRow } from '../../src/store/index.js';
import type { MemoryStore } from './memory-store.js';
import { coordinatorId, type CoordOp, type CoordResult, type RegionEffect, type WireMessage } from './protocol.js';

export interface LeadersOptions {
  readonly region: string;
  readonly incarnation: number;
  /** Home partitions and their candidate orders (home, sync follower, others allowed). */
  readonly partitions: ReadonlyMap<string, readonly string[]>;
  readonly config: LeadershipConfig;
  readonly store: MemoryStore;
  readonly isUp: (region: string) => boolean;
  readonly emit: (e: RegionEffect) => void;
  readonly coordTimeoutMs: number;
  readonly pullTimeoutMs: number;
  /** Re-read every leader key this often (a watch re-established after a broken stream). */
  readonly readEveryMs: number;
  /** Log the partition's older-epoch rows again on taking over (not in src; README). */
  readonly relogOnTakeover: boolean;
  /** leaders.ts and service.ts before the fix (README: findings #3). */
  readonly bestEffortCatchUp: boolean;
  /** leaders.ts now (README: findings #5): reconcile whenever the store says this region
   *  led under an older epoch than the leader observed — also after a failback's release or
   *  a deposition the core forgot (deposedFrom cleared on a free key). False: before. */
  readonly reconcileByStoreLed: boolean;
  /** leaders.ts before the fix: the recorded-follower cache survives a new take. */
  readonly keepSyncCacheOnTake: boolean;
}

/** leaders.ts catchUp: how long it waits before asking again. */
const syncReadRetryMs = 200;
const requiredPullRetryMs = 250;
/** leaders.ts: how often a reconcile the leader refused (not caught up yet) is tried again. */
export const reconcileRetryMs = 1000;

interface Partition {
  state: LeadershipState | null;
  holder: LeaderRecord | null;
  revision: number;
  lease: number | null;
  /** The one coordinator conversation in flight for this partition. */
  coord: { id: number; op: CoordOp['kind']; sentAtMs: number } | null;
  /** Catch-up in flight: reading sync/<partition> (required undefined), pulling from the
   *  recorded follower (`requiredPull`), then the others (`waiting`). */
  catchUp: CatchUp | null;
  /** Reconcile in flight: the pull awaited. */
  reconcile: { id: number; leader: LeaderRecord; epoch: number } | null;
  down: Set<string>;
  lastReadMs: number;
  /** When this region last pulled a leader's rows to reconcile (leaders.ts: retried every reconcileRetryMs). */
  lastReconcileMs: number;
}

interface CatchUp {
  readonly epoch: number;
  /** sync/<partition> as read (undefined: not read yet). */
  required: string | null | undefined;
  /** The coordinator read, or the pull from `required`, in flight. */
  inFlight: number | null;
  /** When to ask again after a failure. */
  retryAtMs: number | null;
  readonly waiting: Set<number>;
  complete: boolean;
}

export class SimLeaders {
  private readonly parts = new Map<string, Partition>();
  /** Pull id -> partition and purpose. */
  private readonly pulls = new Map<number, { partition: string; peer: string; purpose: 'catch-up' | 'reconcile' }>();
  private nextId = 1;
  readonly events: string[] = [];
  /** recordSyncFollower's cache: what this life last recorded per partition. */
  private readonly recorded = new Map<string, string>();
  /** leaders.ts caughtUpFor: the newest epoch this life caught up for as the leader, per partition. */
  private readonly caughtUpEpochs = new Map<string, number>();
  caughtUpFor(partition: string): number {
    return this.caughtUpEpochs.get(partition) ?? 0;
  }
  /** Partitions with a retake timer running (retakeLater). */
  private readonly retakes = new Set<string>();
  /** recordSyncFollower calls waiting for the coordinator, by request id. */
  private readonly recording = new Map<number, { partition: string; region: string; done: (ok: boolean) => void }>();

  constructor(private readonly o: LeadersOptions) {
    for (const [p, candidates] of o.partitions) {
      const led = o.store.partitionEpoch(p).led;
      const state = candidates.includes(o.region) ? initialLeadership(p, o.region, candidates, led) : null;
      this.parts.set(p, { state, holder: null, revision: -1, lease: null, coord: null, catchUp: null, reconcile: null, down: new Set(), lastReadMs: -Infinity, lastReconcileMs: -Infinity });
    }
  }

  /** The partition's leader as last seen. */
  leaderOf(partition: string): LeaderRecord | null {
    return this.parts.get(partition)?.holder ?? null;
  }

  serving(partition: string, nowMs: number): { ok: true; epoch: number } | { ok: false; reason: string } {
    const s = this.parts.get(partition)?.state;
    if (s === null || s === undefined) return { ok: false, reason: `${this.o.region} may not lead ${partition}` };
    return mayServe(s, nowMs);
  }

  state(partition: string): LeadershipState | null {
    return this.parts.get(partition)?.state ?? null;
  }

  /** The synchronous follower as node.ts picks it: the next candidate after this region
   *  in the partition's order (wrapping) that is up. (Before the fix: the first other
   *  candidate that is up.) */
  syncFollower(partition: string): string | undefined {
    const c = this.o.partitions.get(partition) ?? [];
    if (this.o.bestEffortCatchUp) return c.find((r) => r !== this.o.region && this.o.isUp(r));
    const i = c.indexOf(this.o.region);
    return [...c.slice(i + 1), ...c.slice(0, Math.max(0, i))].find((r) => this.o.isUp(r));
  }

  /** leaders.ts recordSyncFollower: sync/<partition> = region at the coordinator before a
   *  write is acknowledged with it; skipped when this life recorded that region last. */
  recordSyncFollower(partition: string, region: string, done: (ok: boolean) => void): void {
    if (this.o.bestEffortCatchUp || this.recorded.get(partition) === region) return done(true);
    const id = this.nextId++;
    this.recording.set(id, { partition, region, done });
    this.o.emit({ kind: 'send', to: coordinatorId, toIncarnation: null, message: { kind: 'coord', id, partition, op: { kind: 'sync_put', region } } });
    this.o.emit({ kind: 'timer', afterMs: this.o.coordTimeoutMs, input: { kind: 'timeout', nowMs: 0, dest: partition, request: 'coord', id } });
  }

  tick(nowMs: number): void {
    for (const [p, part] of this.parts) {
      if (nowMs - part.lastReadMs >= this.o.readEveryMs && (part.coord === null || part.state === null)) {
        part.lastReadMs = nowMs;
        this.coordRequest(p, part, { kind: 'read' }, nowMs, part.state === null ? { untracked: true } : {});
      }
      if (part.state === null) continue;
      // leaders.ts tick: a reconcile that failed (the leader had not caught up) is tried
      // again, at most every reconcileRetryMs (each try pulls the leader's rows).
      if (part.holder !== null && part.holder.region !== this.o.region && nowMs - part.lastReconcileMs >= reconcileRetryMs) this.reconcile(p, part, part.holder, nowMs);
      const c = part.catchUp;
      if (c !== null && c.retryAtMs !== null && nowMs >= c.retryAtMs) {
        c.retryAtMs = null;
        this.catchUpStep(p, part, nowMs);
      }
      for (const r of part.state.candidates) {
        if (r === this.o.region) continue;
        const up = this.o.isUp(r);
        if (up === !part.down.has(r)) continue;
        if (up) part.down.delete(r);
        else part.down.add(r);
        this.input(p, { kind: 'health', region: r, up, nowMs });
      }
      this.input(p, { kind: 'tick', nowMs });
    }
  }

  /** Failback's signal from replication: the home has applied everything this leader wrote. */
  homeCaughtUp(nowMs: number, home: string, outboundPending: number): void {
    for (const [p, part] of this.parts) {
      const s = part.state;
      const l = s?.leading;
      if (s === null || l === null || l === undefined || !l.serving || s.candidates[0] !== home || home === this.o.region || s.homeCaughtUp !== null) continue;
      if (this.o.isUp(home) && outboundPending === 0) this.input(p, { kind: 'caught-up', region: home, epoch: l.epoch, nowMs });
    }
  }

  private input(p: string, input: LeadershipInput): void {
    const part = this.parts.get(p);
    assert(part !== undefined, `a partition ${p}`);
    if (input.kind === 'observed' || input.kind === 'refused') {
      part.holder = input.holder;
      if (input.holder !== null) {
        this.o.store.raiseEpoch(p, input.holder.epoch);
        // leaders.ts now (findings #5): whatever the machine remembers, a store that led an
        // older epoch than the observed leader's reconciles with that leader.
        if (this.o.reconcileByStoreLed && input.holder.region !== this.o.region) this.reconcile(p, part, input.holder, input.nowMs);
      }
    }
    if (part.state === null) return;
    const r = stepLeadership(part.state, input, this.o.config);
    part.state = r.state;
    for (const e of r.effects) this.run(p, part, e, input.nowMs);
  }

  /** leaders.ts reconcile's start: busy (a reconcile in flight) or nothing to do returns;
   *  the epoch is the store's led (before the fix: the core's deposedFrom). */
  private reconcile(p: string, part: Partition, leader: LeaderRecord, nowMs: number): void {
    if (part.reconcile !== null) return;
    let epoch: number;
    if (this.o.reconcileByStoreLed) {
      const led = this.o.store.partitionEpoch(p).led;
      if (led === null || leader.epoch <= led) return;
      epoch = led;
    } else {
      if (part.state === null || part.state.deposedFrom === null) return;
      epoch = part.state.deposedFrom;
    }
    part.lastReconcileMs = nowMs;
    part.reconcile = { id: this.pull(p, leader.region, 'reconcile', leader.epoch), leader, epoch };
  }

  private note(p: string, nowMs: number, what: string): void {
    this.events.push(`${nowMs} ${p}: ${what}`);
    if (this.events.length > 20) this.events.shift();
  }

  private coordRequest(p: string, part: Partition, op: CoordOp, nowMs: number, how: { untracked?: true } = {}): void {
    const id = this.nextId++;
    const untracked = how.untracked === true;
    if (!untracked) part.coord = { id, op: op.kind, sentAtMs: nowMs };
    this.o.emit({ kind: 'send', to: coordinatorId, toIncarnation: null, message: { kind: 'coord', id, partition: p, op } });
    if (!untracked) this.o.emit({ kind: 'timer', afterMs: this.o.coordTimeoutMs, input: { kind: 'timeout', nowMs: 0, dest: p, request: 'coord', id } });
  }

  private run(p: string, part: Partition, e: LeadershipEffect, nowMs: number): void {
    switch (e.kind) {
      case 'take':
        // leaders.ts: the coordinator judges eligibility from the store's led.
        return this.coordRequest(p, part, { kind: 'take', minEpoch: e.epoch, led: this.o.store.partitionEpoch(p).led }, nowMs);
      case 'renew':
        if (part.lease === null) return;
        return this.coordRequest(p, part, { kind: 'renew', lease: part.lease }, nowMs);
      case 'release': {
        const lease = part.lease;
        part.lease = null;
        this.note(p, nowMs, `released epoch ${e.epoch}`);
        // Fire and forget, as leaders.ts does; the state's pending 'release' clears on the
        // next observation or refusal... and on the answer below.
        if (lease !== null) this.coordRequest(p, part, { kind: 'release', lease, epoch: e.epoch }, nowMs);
        return;
      }
      case 'catch-up': {
        part.catchUp = { epoch: e.epoch, required: this.o.bestEffortCatchUp ? null : undefined, inFlight: null, retryAtMs: null, waiting: new Set(), complete: true };
        this.catchUpStep(p, part, nowMs);
        return;
      }
      case 'serve':
        return this.note(p, nowMs, `serving as leader, epoch ${e.epoch}`);
      case 'stop-serving':
        part.catchUp = null;
        return this.note(p, nowMs, `stopped serving epoch ${e.epoch}: ${e.reason}`);
      case 'reconcile':
        return this.reconcile(p, part, e.leader, nowMs);
      default:
        return unreachable(e);
    }
  }

  /** leaders.ts: setTimeout(() => input(unavailable), rankDelayMs). Not at once: the core
   *  would ask to take again in the same step (a loop that never yields); until the timer
   *  fires its take stays pending, so it asks nothing else. The timer dies with this life.
   *  One per partition: in leaders.ts only these timers (and failed takes and renewals,
   *  none in flight here) feed `unavailable`, so there is never a second; here a periodic
   *  read that times out also does, and each would start one more retake chain. */
  private retakeLater(p: string): void {
    if (this.retakes.has(p)) return;
    this.retakes.add(p);
    this.o.emit({ kind: 'timer', afterMs: this.o.config.rankDelayMs, input: { kind: 'timeout', nowMs: 0, dest: p, request: 'retake', id: 0 } });
  }

  /** The rank delay after a take found ineligible is over. */
  retakeDue(nowMs: number, partition: string): void {
    if (!this.retakes.delete(partition)) return;
    this.input(partition, { kind: 'unavailable', nowMs });
  }

  private pull(p: string, peer: string, purpose: 'catch-up' | 'reconcile', leaderEpoch?: number): number {
    const id = this.nextId++;
    this.pulls.set(id, { partition: p, peer, purpose });
    this.o.emit({ kind: 'send', to: peer, toIncarnation: null, message: { kind: 'pull', id, partition: p, ...(leaderEpoch !== undefined && { leaderEpoch }) } });
    this.o.emit({ kind: 'timer', afterMs: this.o.pullTimeoutMs, input: { kind: 'timeout', nowMs: 0, dest: peer, request: 'pull', id } });
    return id;
  }

  /** The catch-up's next move (leaders.ts catchUp, one await at a time). */
  private catchUpStep(p: string, part: Partition, nowMs: number): void {
    const c = part.catchUp;
    if (c === null) return;
    if (part.state?.leading?.epoch !== c.epoch) {
      part.catchUp = null; // no longer taking: abandoned
      return;
    }
    if (c.required === undefined) {
      c.inFlight = this.nextId++;
      this.o.emit({ kind: 'send', to: coordinatorId, toIncarnation: null, message: { kind: 'coord', id: c.inFlight, partition: p, op: { kind: 'sync_get' } } });
      this.o.emit({ kind: 'timer', afterMs: this.o.coordTimeoutMs, input: { kind: 'timeout', nowMs: 0, dest: p, request: 'coord', id: c.inFlight } });
      return;
    }
    if (c.required !== null && c.required !== this.o.region) {
      c.inFlight = this.pull(p, c.required, 'catch-up');
      return;
    }
    this.pullOthers(p, part, nowMs);
  }

  private pullOthers(p: string, part: Partition, nowMs: number): void {
    const c = part.catchUp;
    if (c === null) return;
    c.inFlight = null;
    const peers = (part.state?.candidates ?? []).filter((r) => r !== this.o.region && r !== c.required && this.o.isUp(r));
    const others = (part.state?.candidates.length ?? 1) - 1 - (c.required !== null && c.required !== this.o.region ? 1 : 0);
    if (peers.length < others) c.complete = false;
    for (const peer of peers) c.waiting.add(this.pull(p, peer, 'catch-up'));
    if (c.waiting.size === 0) this.finishCatchUp(p, part, nowMs);
  }

  private finishCatchUp(p: string, part: Partition, nowMs: number): void {
    const c = part.catchUp;
    part.catchUp = null;
    if (c === null || part.state === null) return;
    const r = caughtUp(part.state, c.epoch);
    part.state = r.state;
    if (r.effects.length > 0) this.caughtUpEpochs.set(p, Math.max(this.caughtUpEpochs.get(p) ?? 0, c.epoch));
    if (!c.complete && r.effects.length > 0) this.o.emit({ kind: 'incomplete_catch_up', partition: p, epoch: c.epoch });
    if (this.o.relogOnTakeover && r.effects.length > 0) for (const change of this.o.store.relogPartition(p, c.epoch, nowMs)) this.o.emit({ kind: 'committed', change, epoch: c.epoch });
    for (const x of r.effects) this.run(p, part, x, nowMs);
  }

  /** Rows from a catch-up pull, applied as a repair; false if the store refused them. */
  private applyPulled(rows: readonly Change[], nowMs: number): boolean {
    try {
      this.o.store.apply(rows, nowMs);
      return true;
    } catch (e) {
      if (e instanceof ClockOffsetError || e instanceof PartitionUnreconciled) return false;
      throw e;
    }
  }

  // ---- messages and timeouts routed here by the region

  /** A pull's answer (rows) or its failure (null: timed out). */
  pulled(nowMs: number, id: number, rows: readonly Change[] | null): void {
    const pull = this.pulls.get(id);
    if (pull === undefined) return;
    this.pulls.delete(id);
    const part = this.parts.get(pull.partition);
    if (part === undefined) return;
    if (pull.purpose === 'catch-up') {
      const c = part.catchUp;
      if (c === null) return;
      if (c.inFlight === id) {
        // The recorded synchronous follower: required, asked again until it answers.
        c.inFlight = null;
        if (rows !== null && this.applyPulled(rows, nowMs)) return this.pullOthers(pull.partition, part, nowMs);
        c.retryAtMs = nowMs + requiredPullRetryMs;
        return;
      }
      if (!c.waiting.has(id)) return;
      c.waiting.delete(id);
      if (rows === null || !this.applyPulled(rows, nowMs)) c.complete = false;
      if (c.waiting.size === 0) this.finishCatchUp(pull.partition, part, nowMs);
      return;
    }
    const rec = part.reconcile;
    if (rec === null || rec.id !== id) return;
    part.reconcile = null;
    // leaders.ts now: no check after the pull (the epoch was taken before it); before the
    // fix, a deposition no longer remembered dropped it.
    if (rows === null) return; // retried on the next observation
    if (!this.o.reconcileByStoreLed && (part.state === null || part.state.deposedFrom !== rec.epoch)) return;
    const theirsById = new Map<string, StoredRow>();
    for (const c of rows) if (c.kind === 'row') theirsById.set(`${c.table}\0${c.key}`, { table: c.table, key: c.key, value: c.value, version: c.version, home: c.home, ...(c.epoch !== undefined && { epoch: c.epoch }) });
    const items: { mine: StoredRow; theirs: StoredRow | null; acknowledged: boolean }[] = [];
    // From the rows, not the log: the log may be truncated once peers acknowledged.
    for (const mine of this.o.store.rowsOfOwnLeads(pull.partition, rec.epoch)) {
      const theirs = theirsById.get(`${mine.table}\0${mine.key}`) ?? null;
      if (theirs !== null && theirs.version.wall === mine.version.wall && theirs.version.logical === mine.version.logical && theirs.version.region === mine.version.region) continue;
      // survive: region tables are acknowledged only after the sync push: never at commit.
      items.push({ mine, theirs, acknowledged: false });
    }
    this.o.store.reconcile(pull.partition, rec.epoch, items, nowMs);
    if (part.state !== null) part.state = reconciled(part.state);
    this.note(pull.partition, nowMs, `reconciled with ${rec.leader.region} (epoch ${rec.leader.epoch}): ${items.length} write(s) of epoch ${rec.epoch} set aside`);
  }

  watched(nowMs: number, m: Extract<WireMessage, { kind: 'watch' }>): void {
    const part = this.parts.get(m.partition);
    if (part === undefined || m.revision < part.revision) return;
    part.revision = m.revision;
    this.input(m.partition, { kind: 'observed', holder: m.holder, nowMs });
  }

  coordAnswered(nowMs: number, id: number, partition: string, result: CoordResult): void {
    const part = this.parts.get(partition);
    if (part === undefined) return;
    if (result.kind === 'read') return this.watched(nowMs, { kind: 'watch', partition, holder: result.holder, revision: result.revision });
    if (result.kind === 'sync_recorded') {
      const r = this.recording.get(id);
      if (r === undefined) return; // timed out already: that write failed
      this.recording.delete(id);
      this.recorded.set(r.partition, r.region);
      return r.done(true);
    }
    if (result.kind === 'sync_is') {
      const c = part.catchUp;
      if (c === null || c.inFlight !== id) return;
      c.inFlight = null;
      c.required = result.region;
      return this.catchUpStep(partition, part, nowMs);
    }
    const c = part.coord;
    if (c === null || c.id !== id) return; // timed out already
    part.coord = null;
    switch (result.kind) {
      case 'ineligible':
        // leaders.ts: the store learns the epoch, reconciles with the region granted it (if
        // it caught up then; it may have failed back since, and the key be free), and the
        // take is asked again after the rank delay.
        this.o.store.raiseEpoch(partition, result.last.epoch);
        this.note(partition, nowMs, `may not take yet: ${result.last.region} was granted epoch ${result.last.epoch}`);
        if (result.last.region !== this.o.region) this.reconcile(partition, part, result.last, nowMs);
        return this.retakeLater(partition);
      case 'taken': {
        part.lease = result.lease;
        // Another leader may have recorded another follower since: record ours anew.
        if (!this.o.keepSyncCacheOnTake) this.recorded.delete(partition);
        // Persist that this region leads under the epoch before it acts on it.
        this.o.store.markLed(partition, result.epoch);
        return this.input(partition, { kind: 'granted', epoch: result.epoch, sentAtMs: c.sentAtMs, nowMs });
      }
      case 'renewed': {
        const epoch = part.state?.leading?.epoch;
        if (epoch === undefined) return;
        return this.input(partition, { kind: 'granted', epoch, sentAtMs: c.sentAtMs, nowMs });
      }
      case 'refused':
        if (result.revision >= part.revision) part.revision = result.revision;
        return this.input(partition, { kind: 'refused', holder: result.holder, nowMs });
      case 'released':
        return;
      default:
        return unreachable(result);
    }
  }

  coordTimedOut(nowMs: number, partition: string, id: number): void {
    const part = this.parts.get(partition);
    if (part === undefined) return;
    const r = this.recording.get(id);
    if (r !== undefined) {
      this.recording.delete(id);
      return r.done(false);
    }
    const cu = part.catchUp;
    if (cu !== null && cu.inFlight === id && cu.required === undefined) {
      cu.inFlight = null;
      cu.retryAtMs = nowMs + syncReadRetryMs;
      return;
    }
    if (part.coord === null || part.coord.id !== id) return;
    const { op } = part.coord;
    part.coord = null;
    if (op === 'release') return;
    this.input(partition, { kind: 'unavailable', nowMs });
  }

  /** What the world's quiet check needs: a deposed leader still to reconcile. */
  unreconciled(): string | null {
    for (const [p, part] of this.parts) {
      const s = part.state;
      if (s !== null && s.deposedFrom !== null && part.holder !== null && part.holder.region !== this.o.region) return `${this.o.region} has not reconciled ${p} (deposed from epoch ${s.deposedFrom}, leader ${part.holder.region} epoch ${part.holder.epoch})`;
      const led = this.o.store.partitionEpoch(p).led;
      if (led !== null && part.holder !== null && part.holder.region !== this.o.region && part.holder.epoch > led) return `${this.o.region} has not reconciled ${p} (led epoch ${led}, leader ${part.holder.region} epoch ${part.holder.epoch})`;
    }
    return null;
  }
}
