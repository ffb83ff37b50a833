// The simulator's shell around leadership (src/replication/leadership.ts), mirroring
// src/node/leaders.ts move for move, with messages instead of promises:
// - take: one request to the coordinator (grant a lease, CAS leader/<partition> with the
//   next epoch), `sentAtMs` taken when it leaves; markLed before `granted` is fed in;
// - renew: keep-alive of the lease; a lease found gone is `refused` with the holder;
// - no answer within `coordTimeoutMs`: `unavailable`;
// - watch: events from the coordinator (and a periodic read, as a re-watch after a broken
//   stream), older revisions ignored — a watch stream is ordered;
// - catch-up: pull the partition's rows from every candidate up in this region's view,
//   apply them by version (a repair), then caughtUp(); a pull that fails is skipped, as
//   leaders.ts does (`repairWith(...).catch(() => 0)`);
// - reconcile: the deposed leader pulls the new leader's rows and replaces each row it
//   wrote under its old epoch (as its log still shows) that the leader does not hold at
//   the same version, recording its own in lost writes.

import { assert, unreachable } from '../../src/lib/index.js';
import { caughtUp, initialLeadership, mayServe, reconciled, stepLeadership, type LeaderRecord, type LeadershipConfig, type LeadershipEffect, type LeadershipInput, type LeadershipState } from '../../src/replication/index.js';
import type { Change, StoredRow } from '../../src/store/index.js';
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
  /** Log the partition's older-epoch rows again on taking over (the proposed fix). */
  readonly relogOnTakeover: boolean;
}

interface Partition {
  state: LeadershipState | null;
  holder: LeaderRecord | null;
  revision: number;
  lease: number | null;
  /** The one coordinator conversation in flight for this partition. */
  coord: { id: number; op: CoordOp['kind']; sentAtMs: number } | null;
  /** Catch-up in flight: pulls awaited. */
  catchUp: { epoch: number; waiting: Set<number>; complete: boolean } | null;
  /** Reconcile in flight: the pull awaited. */
  reconcile: { id: number; leader: LeaderRecord; epoch: number } | null;
  down: Set<string>;
  lastReadMs: number;
}

export class SimLeaders {
  private readonly parts = new Map<string, Partition>();
  /** Pull id -> partition and purpose. */
  private readonly pulls = new Map<number, { partition: string; peer: string; purpose: 'catch-up' | 'reconcile' }>();
  private nextId = 1;
  readonly events: string[] = [];

  constructor(private readonly o: LeadersOptions) {
    for (const [p, candidates] of o.partitions) {
      const led = o.store.partitionEpoch(p).led;
      const state = candidates.includes(o.region) ? initialLeadership(p, o.region, candidates, led) : null;
      this.parts.set(p, { state, holder: null, revision: -1, lease: null, coord: null, catchUp: null, reconcile: null, down: new Set(), lastReadMs: -Infinity });
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

  /** The synchronous follower as service.ts picks it: the first other candidate that is up. */
  syncFollower(partition: string): string | undefined {
    return this.o.partitions.get(partition)?.find((r) => r !== this.o.region && this.o.isUp(r));
  }

  tick(nowMs: number): void {
    for (const [p, part] of this.parts) {
      if (nowMs - part.lastReadMs >= this.o.readEveryMs && (part.coord === null || part.state === null)) {
        part.lastReadMs = nowMs;
        this.coordRequest(p, part, { kind: 'read' }, nowMs, part.state === null);
      }
      if (part.state === null) continue;
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
      if (input.holder !== null) this.o.store.raiseEpoch(p, input.holder.epoch);
    }
    if (part.state === null) return;
    const r = stepLeadership(part.state, input, this.o.config);
    part.state = r.state;
    for (const e of r.effects) this.run(p, part, e, input.nowMs);
  }

  private note(p: string, nowMs: number, what: string): void {
    this.events.push(`${nowMs} ${p}: ${what}`);
    if (this.events.length > 20) this.events.shift();
  }

  private coordRequest(p: string, part: Partition, op: CoordOp, nowMs: number, untracked = false): void {
    const id = this.nextId++;
    if (!untracked) part.coord = { id, op: op.kind, sentAtMs: nowMs };
    this.o.emit({ kind: 'send', to: coordinatorId, toIncarnation: null, message: { kind: 'coord', id, partition: p, op } });
    if (!untracked) this.o.emit({ kind: 'timer', afterMs: this.o.coordTimeoutMs, input: { kind: 'timeout', nowMs: 0, dest: p, request: 'coord', id } });
  }

  private run(p: string, part: Partition, e: LeadershipEffect, nowMs: number): void {
    switch (e.kind) {
      case 'take':
        return this.coordRequest(p, part, { kind: 'take', minEpoch: e.epoch }, nowMs);
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
        const peers = (part.state?.candidates ?? []).filter((r) => r !== this.o.region && this.o.isUp(r));
        part.catchUp = { epoch: e.epoch, waiting: new Set(), complete: peers.length === (part.state?.candidates.length ?? 1) - 1 };
        for (const peer of peers) part.catchUp.waiting.add(this.pull(p, peer, 'catch-up'));
        if (part.catchUp.waiting.size === 0) this.finishCatchUp(p, part, nowMs);
        return;
      }
      case 'serve':
        return this.note(p, nowMs, `serving as leader, epoch ${e.epoch}`);
      case 'stop-serving':
        part.catchUp = null;
        return this.note(p, nowMs, `stopped serving epoch ${e.epoch}: ${e.reason}`);
      case 'reconcile': {
        if (part.reconcile !== null || part.state === null || part.state.deposedFrom === null) return;
        const id = this.pull(p, e.leader.region, 'reconcile');
        part.reconcile = { id, leader: e.leader, epoch: part.state.deposedFrom };
        return;
      }
      default:
        return unreachable(e);
    }
  }

  private pull(p: string, peer: string, purpose: 'catch-up' | 'reconcile'): number {
    const id = this.nextId++;
    this.pulls.set(id, { partition: p, peer, purpose });
    this.o.emit({ kind: 'send', to: peer, toIncarnation: null, message: { kind: 'pull', id, partition: p } });
    this.o.emit({ kind: 'timer', afterMs: this.o.pullTimeoutMs, input: { kind: 'timeout', nowMs: 0, dest: peer, request: 'pull', id } });
    return id;
  }

  private finishCatchUp(p: string, part: Partition, nowMs: number): void {
    const c = part.catchUp;
    part.catchUp = null;
    if (c === null || part.state === null) return;
    const r = caughtUp(part.state, c.epoch);
    part.state = r.state;
    if (!c.complete && r.effects.length > 0) this.o.emit({ kind: 'incomplete_catch_up', partition: p, epoch: c.epoch });
    if (this.o.relogOnTakeover && r.effects.length > 0) for (const change of this.o.store.relogPartition(p, c.epoch, nowMs)) this.o.emit({ kind: 'committed', change, epoch: c.epoch });
    for (const x of r.effects) this.run(p, part, x, nowMs);
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
      if (part.catchUp === null || !part.catchUp.waiting.has(id)) return;
      part.catchUp.waiting.delete(id);
      if (rows !== null) this.o.store.apply(rows, nowMs);
      else part.catchUp.complete = false;
      if (part.catchUp.waiting.size === 0) this.finishCatchUp(pull.partition, part, nowMs);
      return;
    }
    const rec = part.reconcile;
    if (rec === null || rec.id !== id) return;
    part.reconcile = null;
    if (rows === null || part.state === null || part.state.deposedFrom !== rec.epoch) return; // retried on the next observation
    const theirsById = new Map<string, StoredRow>();
    for (const c of rows) if (c.kind === 'row') theirsById.set(`${c.table}\0${c.key}`, { table: c.table, key: c.key, value: c.value, version: c.version, home: c.home, ...(c.epoch !== undefined && { epoch: c.epoch }) });
    const seen = new Set<string>();
    const items: { mine: StoredRow; theirs: StoredRow | null; acknowledged: boolean }[] = [];
    for (const c of this.o.store.changesUnderEpoch(pull.partition, rec.epoch)) {
      const id2 = `${c.table}\0${c.key}`;
      if (c.kind !== 'row' || seen.has(id2)) continue;
      seen.add(id2);
      const mine = this.o.store.get(c.table, c.key);
      if (mine === undefined || (mine.epoch ?? 0) !== rec.epoch) continue;
      const theirs = theirsById.get(id2) ?? null;
      if (theirs !== null && theirs.version.wall === mine.version.wall && theirs.version.logical === mine.version.logical && theirs.version.region === mine.version.region) continue;
      // survive: region tables are acknowledged only after the sync push: never at commit.
      items.push({ mine, theirs, acknowledged: false });
    }
    this.o.store.reconcile(pull.partition, rec.epoch, items, nowMs);
    part.state = reconciled(part.state);
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
    const c = part.coord;
    if (c === null || c.id !== id) return; // timed out already
    part.coord = null;
    switch (result.kind) {
      case 'taken':
        part.lease = result.lease;
        // Persist that this region leads under the epoch before it acts on it.
        this.o.store.markLed(partition, result.epoch);
        return this.input(partition, { kind: 'granted', epoch: result.epoch, sentAtMs: c.sentAtMs, nowMs });
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
    if (part === undefined || part.coord === null || part.coord.id !== id) return;
    const op = part.coord.op;
    part.coord = null;
    if (op === 'release') return;
    this.input(partition, { kind: 'unavailable', nowMs });
  }

  /** What the world's quiet check needs: a deposed leader still to reconcile. */
  unreconciled(): string | null {
    for (const [p, part] of this.parts) {
      const s = part.state;
      if (s !== null && s.deposedFrom !== null && part.holder !== null && part.holder.region !== this.o.region) return `${this.o.region} has not reconciled ${p} (deposed from epoch ${s.deposedFrom}, leader ${part.holder.region} epoch ${part.holder.epoch})`;
    }
    return null;
  }
}
