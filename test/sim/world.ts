// The deterministic simulated world: N regions, one seed. The seed draws the topology's
// size, the network's faults, the clock skews, the fault schedule (crashes, partitions,
// skew jumps) and the workload; the scheduler runs everything in (time, order) so the same
// seed replays the same run, event for event (TigerBeetle's VOPR, DESIGN §8).
//
// A run has two phases. Until `faultsEndMs`, clients write while faults happen. Then the
// world heals — partitions mend, crashed regions restart, the network stops losing
// messages — and runs until replication is quiet (every stream acknowledged up to its
// log's end), bounded by `quietDeadlineMs`. Step invariants run after every event a region
// handles; final invariants once it is quiet.

import { mulberry32, unreachable } from '../../src/lib/index.js';
import { defaultReplicationConfig, type LeadershipConfig, type ReplicationConfig } from '../../src/replication/index.js';
import type { LoggedChange } from '../../src/store/index.js';
import { SimCoordinator, type CoordChange } from './coordinator.js';
import { StrongHistory } from './history.js';
import { finalInvariants, stepInvariants, type WorldView } from './invariants.js';
import { Ledger } from './ledger.js';
import { emptyDisk, type Disk } from './memory-store.js';
import { reliable, SimNetwork, type NetworkFaults } from './network.js';
import { coordinatorId, type ClientReply, type ClientRequest, type RegionEffect, type RegionInput, type WireMessage } from './protocol.js';
import { ReplicatingRegion, type LeadershipTiming, type RegionFaults } from './region.js';
import { residencyFor, type Residency } from './residency.js';
import { Scheduler } from './scheduler.js';
import { planFaults, planWorkload, type FaultEvent, type PlannedOp } from './plan.js';

export interface SimOptions {
  /** Client operations in the fault phase. */
  readonly ops: number;
  readonly faultsEndMs: number;
  /** After the heal, the world must be quiet within this long. */
  readonly quietDeadlineMs: number;
  readonly tickMs: number;
  readonly maxSkewMs: number;
  readonly maxClockOffsetMs: number;
  /** Keep the last events for a failure's report. */
  readonly traceLength: number;
  /** A clock fault moves a region's clock by at most this much at a time (either way). The
   *  lease margin must cover what backward jumps add up to within one lease. */
  readonly maxClockJumpMs: number;
  readonly leadership: LeadershipConfig;
  readonly timing: LeadershipTiming;
  /** Times a strong operation refused without effect is tried again elsewhere. */
  readonly strongRetries: number;
  /** Each region runs an anti-entropy round (with the next peer in turn) this often, as
   *  the Replicator does every `anti_entropy` ms; RegionFaults.noAntiEntropy turns it off. */
  readonly antiEntropyMs: number;
}

export const defaultSimOptions: SimOptions = {
  ops: 120,
  faultsEndMs: 1500,
  quietDeadlineMs: 20_000,
  tickMs: 10,
  maxSkewMs: 150,
  maxClockOffsetMs: 500,
  traceLength: 40,
  // Three jumps of at most 30 ms: backward jumps within one lease add up to < the margin.
  maxClockJumpMs: 30,
  // Short leases so that expiries, takeovers and failbacks happen within a run.
  leadership: { leaseTtlMs: 400, safetyMarginMs: 100, renewEveryMs: 100, rankDelayMs: 80, failback: 'auto' },
  timing: { coordTimeoutMs: 150, pullTimeoutMs: 200, readEveryMs: 100, requestTimeoutMs: 250, pingEveryMs: 30, downAfterMs: 150 },
  strongRetries: 3,
  antiEntropyMs: 150,
};

/** Small batches, a short log and quick retries: every path of the protocol (pipelining,
 *  go-back-N, parking, snapshots) runs in a short simulated time. */
export const simReplicationConfig: ReplicationConfig = { ...defaultReplicationConfig, flushMs: 10, maxBatch: 4, maxInflight: 3, retryMs: 200, heartbeatMs: 100, logKeep: 8 };

export interface SimResult {
  readonly seed: number;
  readonly violations: readonly string[];
  readonly trace: readonly string[];
  readonly stats: { readonly regions: number; readonly events: number; readonly messages: number; readonly dropped: number; readonly duplicated: number; readonly crashes: number; readonly snapshots: number; readonly simMs: number; readonly strongOps: number; readonly takeovers: number; readonly deepTakeovers: number; readonly incompleteCatchUps: number; readonly lostWrites: number };
}

type WorldEvent =
  | { readonly kind: 'deliver'; readonly to: string; readonly toIncarnation: number | null; readonly from: string; readonly fromIncarnation: number; readonly message: WireMessage }
  | { readonly kind: 'coord_tick' }
  | { readonly kind: 'timer'; readonly region: string; readonly incarnation: number; readonly input: RegionInput }
  | { readonly kind: 'tick'; readonly region: string; readonly incarnation: number }
  | { readonly kind: 'client'; readonly op: PlannedOp; readonly attempt?: number }
  | { readonly kind: 'client_arrive'; readonly region: string; readonly requestId: number; readonly request: ClientRequest }
  | { readonly kind: 'client_reply'; readonly region: string; readonly incarnation: number; readonly requestId: number; readonly reply: ClientReply }
  | { readonly kind: 'fault'; readonly fault: FaultEvent }
  | { readonly kind: 'heal' }
  | { readonly kind: 'check_quiet' };

/** A client request on its way: what to record when its answer arrives. */
interface InFlightClient {
  readonly op: PlannedOp;
  readonly strongId: number | null;
  readonly attempt: number;
}

/** Ghost: a home-row write a leader committed, kept outside every region. */
export interface CommittedWrite {
  readonly region: string;
  readonly epoch: number;
  readonly change: LoggedChange;
}

export class SimWorld {
  readonly sched = new Scheduler<WorldEvent>();
  readonly residency: Residency;
  readonly regions: readonly string[];
  readonly disks = new Map<string, Disk>();
  readonly live = new Map<string, ReplicatingRegion>();
  readonly incarnations = new Map<string, number>();
  readonly skews = new Map<string, number>();
  readonly network: SimNetwork;
  readonly ledger = new Ledger();
  readonly history = new StrongHistory();
  readonly coordinator: SimCoordinator;
  readonly partitions: ReadonlyMap<string, readonly string[]>;
  readonly committed: CommittedWrite[] = [];
  /** Ghost: which region accepted operations of each partition under each epoch. */
  private readonly epochWriters = new Map<string, string>();
  private takeovers = 0;
  /** Takes by a candidate ranked after the synchronous follower (README: findings). */
  private deepTakeovers = 0;
  private incompleteCatchUps = 0;
  private readonly rand: () => number;
  private readonly view: WorldView;
  private readonly invariants = stepInvariants();
  private readonly clients = new Map<number, InFlightClient>();
  private readonly trace: string[] = [];
  private readonly violations: string[] = [];
  private healed = false;
  /** Ghost, for the quiet check with anti-entropy: every region's write count when each
   *  round started, and per (region, peer) the count at the start of its last clean round. */
  private readonly aeStarted = new Map<string, number>();
  private readonly aeClean = new Map<string, number>();
  private quiet = false;
  private events = 0;
  private crashes = 0;
  private nextRequestId = 1;

  constructor(
    readonly seed: number,
    readonly opts: SimOptions = defaultSimOptions,
    readonly config: ReplicationConfig = simReplicationConfig,
    /** What the regions believe about residency; the invariants always use the truth. A
     *  test swaps in a wrong belief to show the invariants catch it. */
    private readonly believed: (truth: Residency) => Residency = (truth) => truth,
    /** Ablations of the protocol, to show that the invariants catch them. */
    private readonly ablations: RegionFaults = {},
  ) {
    this.rand = mulberry32(seed);
    this.residency = residencyFor(this.rand() < 0.5 ? 3 : 4);
    this.regions = this.residency.regions;
    const faults: NetworkFaults = {
      dropRate: this.rand() * 0.15,
      duplicateRate: this.rand() * 0.08,
      delayMsBase: 1 + Math.floor(this.rand() * 30),
      delayMsJitter: Math.floor(this.rand() * 60),
    };
    this.network = new SimNetwork(mulberry32(Math.floor(this.rand() * 2 ** 32)), faults);
    this.coordinator = new SimCoordinator(opts.leadership.leaseTtlMs, ablations.ignoreEligibility === true);
    // A partition per home region; candidates: the home, then the other allowed regions in
    // the topology's order (the first of them is the synchronous follower).
    this.partitions = new Map(this.regions.map((h) => [h, [h, ...this.residency.allowedFor(h).filter((r) => r !== h)]]));
    for (const r of this.regions) {
      this.disks.set(r, emptyDisk());
      this.skews.set(r, Math.round((this.rand() * 2 - 1) * opts.maxSkewMs));
      this.start(r, 0);
    }
    this.view = { residency: this.residency, regions: this.regions, disks: this.disks, ledger: this.ledger, history: this.history, committed: this.committed };
    for (const op of planWorkload(this.rand, this.regions, opts)) this.sched.at(op.atMs, { kind: 'client', op });
    for (const f of planFaults(this.rand, this.regions, opts)) this.sched.at(f.atMs, { kind: 'fault', fault: f });
    this.sched.at(opts.faultsEndMs, { kind: 'heal' });
    this.sched.after(opts.tickMs, { kind: 'coord_tick' });
  }

  private start(region: string, incarnation: number): void {
    this.incarnations.set(region, incarnation);
    const a = new ReplicatingRegion({
      id: region,
      peers: this.regions.filter((p) => p !== region),
      incarnation,
      disk: this.disks.get(region) as Disk,
      residency: this.believed(this.residency),
      config: this.config,
      maxClockOffsetMs: this.opts.maxClockOffsetMs,
      skewMs: () => this.skews.get(region) ?? 0,
      rand: mulberry32(Math.floor(this.rand() * 2 ** 32)),
      applyFailureRate: 0.02,
      partitions: this.partitions,
      leadership: this.opts.leadership,
      timing: this.opts.timing,
      faults: this.ablations,
      antiEntropyMs: this.ablations.noAntiEntropy === true ? 0 : this.opts.antiEntropyMs,
    });
    this.live.set(region, a);
    // Ticks start at a seeded offset, so regions do not move in lockstep.
    this.sched.after(1 + Math.floor(this.rand() * this.opts.tickMs), { kind: 'tick', region, incarnation });
  }

  run(): SimResult {
    for (let s = this.sched.next(); s !== undefined && this.violations.length === 0 && !this.quiet; s = this.sched.next()) {
      this.events++;
      this.handle(s.event);
      if (this.sched.nowMs > this.opts.faultsEndMs + this.opts.quietDeadlineMs) {
        this.violations.push(`not quiet ${this.opts.quietDeadlineMs} ms after the heal: ${this.unquietReason()}`);
      }
    }
    if (this.violations.length === 0) {
      if (!this.quiet) this.violations.push(`the world stopped before it was quiet: ${this.unquietReason()}`);
      else for (const inv of finalInvariants) this.violations.push(...inv(this.view));
    }
    let snapshots = 0;
    for (const a of this.live.values()) for (const s of a.out.values()) snapshots += s.snapshots;
    return {
      seed: this.seed,
      violations: this.violations,
      trace: this.trace,
      stats: {
        regions: this.regions.length,
        events: this.events,
        messages: this.network.sent,
        dropped: this.network.dropped,
        duplicated: this.network.duplicated,
        crashes: this.crashes,
        snapshots,
        simMs: this.sched.nowMs,
        strongOps: this.history.size,
        takeovers: this.takeovers,
        deepTakeovers: this.deepTakeovers,
        incompleteCatchUps: this.incompleteCatchUps,
        lostWrites: [...this.disks.values()].reduce((n, d) => n + d.lostWrites.length, 0),
      },
    };
  }

  private note(line: string): void {
    this.trace.push(`${this.sched.nowMs} ms ${line}`);
    if (this.trace.length > this.opts.traceLength) this.trace.shift();
  }

  private handle(e: WorldEvent): void {
    const now = this.sched.nowMs;
    switch (e.kind) {
      case 'tick': {
        if (this.incarnations.get(e.region) !== e.incarnation || !this.live.has(e.region)) return;
        this.stepRegion(e.region, { kind: 'tick', nowMs: now });
        this.sched.after(this.opts.tickMs, e);
        return;
      }
      case 'coord_tick':
        this.broadcast(this.coordinator.expire(now));
        this.sched.after(this.opts.tickMs, e);
        return;
      case 'deliver': {
        if (e.to === coordinatorId) return this.coordinatorReceives(e);
        const a = this.live.get(e.to);
        // Lost: the region is down, the reply's connection died with the life that asked,
        // or the link was cut while the message travelled.
        if (a === undefined || (e.toIncarnation !== null && a.incarnation !== e.toIncarnation) || !this.network.connected(e.from, e.to)) return;
        if (e.message.kind !== 'ping' && e.message.kind !== 'pong') this.note(`${e.from}#${e.fromIncarnation} -> ${e.to}: ${describe(e.message)}`);
        this.stepRegion(e.to, { kind: 'message', nowMs: now, from: e.from, fromIncarnation: e.fromIncarnation, message: e.message });
        return;
      }
      case 'timer': {
        const a = this.live.get(e.region);
        if (a === undefined || a.incarnation !== e.incarnation) return;
        this.stepRegion(e.region, { ...e.input, nowMs: now });
        return;
      }
      case 'client':
        return this.clientSend(e.op, e.attempt ?? 0);
      case 'client_arrive':
        if (this.live.has(e.region)) this.stepRegion(e.region, { kind: 'client', nowMs: now, requestId: e.requestId, request: e.request });
        return;
      case 'client_reply':
        return this.clientReply(e);
      case 'fault':
        return this.fault(e.fault);
      case 'heal':
        this.note('heal: partitions mend, every region runs, no more losses');
        this.healed = true;
        this.network.healAll();
        this.network.faults = { ...reliable, delayMsBase: this.network.faults.delayMsBase, delayMsJitter: this.network.faults.delayMsJitter };
        for (const r of this.regions) if (!this.live.has(r)) this.restart(r);
        this.sched.after(50, { kind: 'check_quiet' });
        return;
      case 'check_quiet':
        if (this.unquietReason() === null) this.quiet = true;
        else this.sched.after(50, e);
        return;
      default: {
        const never: never = e;
        throw new Error(`unhandled world event ${JSON.stringify(never)}`);
      }
    }
  }

  // ---- the coordinator

  private coordinatorReceives(e: Extract<WorldEvent, { kind: 'deliver' }>): void {
    const now = this.sched.nowMs;
    if (e.message.kind !== 'coord' || now < this.coordinator.pausedUntilMs || !this.network.connected(e.from, coordinatorId)) return;
    const m = e.message;
    const r = this.coordinator.handle(e.from, m.partition, m.op, now);
    if (r.result.kind === 'taken') {
      this.takeovers++;
      if ((this.partitions.get(m.partition) ?? []).indexOf(e.from) >= 2) this.deepTakeovers++;
      this.note(`coordinator: ${e.from} takes ${m.partition} with epoch ${r.result.epoch}`);
    }
    this.coordSend(e.from, e.fromIncarnation, { kind: 'coord_reply', id: m.id, partition: m.partition, result: r.result });
    this.broadcast(r.changes);
  }

  /** The coordinator's messages: over the faulty network, but never duplicated (a stream). */
  private coordSend(to: string, toIncarnation: number, message: WireMessage): void {
    const d = this.network.fate(coordinatorId, to)[0];
    if (d !== undefined) this.sched.after(d, { kind: 'deliver', to, toIncarnation, from: coordinatorId, fromIncarnation: 0, message });
  }

  /** Watch events to every live region (each watches every leader key). */
  private broadcast(changes: readonly CoordChange[]): void {
    for (const c of changes) {
      if (c.holder === null) this.note(`coordinator: ${c.partition} is free`);
      for (const [r, a] of this.live) this.coordSend(r, a.incarnation, { kind: 'watch', partition: c.partition, holder: c.holder, revision: c.revision });
    }
  }

  private stepRegion(region: string, input: RegionInput): void {
    const a = this.live.get(region) as ReplicatingRegion;
    const effects = a.step(input);
    for (const fx of effects) this.carryOut(region, a.incarnation, fx);
    if (this.violations.length > 0) return;
    // Lease safety, sampled after every event a region handles: whatever passes mayServe
    // here holds the partition's lease at the coordinator now, in true time.
    const localNow = this.sched.nowMs + (this.skews.get(region) ?? 0);
    for (const p of this.partitions.keys()) {
      const s = a.leaders.serving(p, localNow);
      if (s.ok && !this.coordinator.leaseAt(p, region, s.epoch, this.sched.nowMs)) {
        this.violations.push(`lease safety: ${region} may serve ${p} under epoch ${s.epoch} at ${this.sched.nowMs} ms, but the coordinator shows ${JSON.stringify(this.coordinator.holder(p))} (after ${region} handled ${input.kind})`);
        return;
      }
    }
    for (const inv of this.invariants) {
      const problem = inv(this.view, region);
      if (problem !== null) {
        this.violations.push(`${problem} (after ${region} handled ${input.kind} at ${this.sched.nowMs} ms)`);
        return;
      }
    }
  }

  private carryOut(region: string, incarnation: number, fx: RegionEffect): void {
    switch (fx.kind) {
      case 'send':
        // Only the replication stream's messages may arrive twice (its protocol expects
        // it); the other requests are HTTP exchanges on one connection, never duplicated.
        for (const d of this.network.fate(region, fx.to).slice(0, duplicable.has(fx.message.kind) ? 2 : 1)) {
          this.sched.after(d, { kind: 'deliver', to: fx.to, toIncarnation: fx.toIncarnation, from: region, fromIncarnation: incarnation, message: fx.message });
        }
        return;
      case 'timer':
        this.sched.after(fx.afterMs, { kind: 'timer', region, incarnation, input: fx.input });
        return;
      case 'client_reply':
        // The answer travels back to the client; it is lost if the region dies first.
        this.sched.after(1 + Math.floor(this.rand() * 5), { kind: 'client_reply', region, incarnation, requestId: fx.requestId, reply: fx.reply });
        return;
      case 'incomplete_catch_up':
        this.incompleteCatchUps++;
        this.note(`${region} serves ${fx.partition} (epoch ${fx.epoch}) after an incomplete catch-up`);
        return;
      case 'ae_round': {
        const k = `${region}\0${fx.peer}`;
        if (fx.phase === 'start') this.aeStarted.set(`${k}\0${fx.round}`, this.generation());
        else {
          const at = this.aeStarted.get(`${k}\0${fx.round}`);
          this.aeStarted.delete(`${k}\0${fx.round}`);
          if (fx.phase === 'clean' && at !== undefined) this.aeClean.set(k, at);
        }
        return;
      }
      case 'committed':
        this.committed.push({ region, epoch: fx.epoch, change: fx.change });
        return;
      case 'accepted': {
        const k = `${fx.partition}\0${fx.epoch}`;
        const writer = this.epochWriters.get(k);
        if (writer !== undefined && writer !== region) this.violations.push(`one leader per epoch: ${region} and ${writer} both accepted operations of ${fx.partition} under epoch ${fx.epoch}`);
        this.epochWriters.set(k, region);
        if (!this.coordinator.leaseAt(fx.partition, region, fx.epoch, this.sched.nowMs)) {
          this.violations.push(`lease safety: ${region} accepted an operation of ${fx.partition} under epoch ${fx.epoch} at ${this.sched.nowMs} ms without holding the lease (the coordinator shows ${JSON.stringify(this.coordinator.holder(fx.partition))})`);
        }
        return;
      }
      default: {
        const never: never = fx;
        throw new Error(`unhandled region effect ${JSON.stringify(never)}`);
      }
    }
  }

  // ---- clients

  private clientSend(op: PlannedOp, attempt = 0): void {
    const now = this.sched.nowMs;
    const requestId = this.nextRequestId++;
    const r = op.request;
    const strongId = r.kind === 'strong' ? this.history.invoke(op.client, r.table, r.op, now) : null;
    if (r.kind === 'increment') this.ledger.counter(r.table, r.key).unknown += r.by;
    this.clients.set(requestId, { op, strongId, attempt });
    // The request reaches the region a little later, if it is up then; otherwise the
    // client never hears back and the operation stays pending.
    const arriveMs = 1 + Math.floor(this.rand() * 5);
    this.sched.after(arriveMs, { kind: 'client_arrive', region: op.region, requestId, request: r });
  }

  private clientReply(e: Extract<WorldEvent, { kind: 'client_reply' }>): void {
    const a = this.live.get(e.region);
    if (a === undefined || a.incarnation !== e.incarnation) return;
    const c = this.clients.get(e.requestId);
    if (c === undefined) return;
    this.clients.delete(e.requestId);
    const r: ClientRequest = c.op.request;
    const now = this.sched.nowMs;
    const reply = e.reply;
    if (reply.kind === 'refused') {
      if (c.strongId !== null) this.history.forget(c.strongId);
      if (r.kind === 'increment') this.ledger.counter(r.table, r.key).unknown -= r.by;
      // A strong operation refused without effect (no leader here, none known): the client
      // tries the next region a little later.
      if (r.kind === 'strong' && c.attempt < this.opts.strongRetries) {
        const next = this.regions[(this.regions.indexOf(c.op.region) + 1) % this.regions.length] as string;
        this.sched.after(20 + Math.floor(this.rand() * 40), { kind: 'client', op: { ...c.op, region: next }, attempt: c.attempt + 1 });
      }
      return;
    }
    // Committed but not acknowledged, or a forward that went unanswered: it may or may not
    // have happened — the operation stays pending in the history.
    if (reply.kind === 'unknown') return;
    if (r.kind === 'put' && reply.kind === 'put') this.ledger.rows.push({ table: r.table, key: r.key, value: r.value, version: reply.version, home: null, region: e.region, ackMs: now });
    if (r.kind === 'increment') {
      const k = this.ledger.counter(r.table, r.key);
      k.unknown -= r.by;
      k.acked += r.by;
    }
    if (r.kind === 'strong' && reply.kind === 'strong' && c.strongId !== null) {
      this.history.complete(c.strongId, now, reply.output);
      const op = r.op;
      if (op.kind !== 'read' && reply.output === 'ok' && reply.version !== null) this.ledger.rows.push({ table: r.table, key: op.key, value: op.value, version: reply.version, home: r.home, region: e.region, ackMs: now });
    }
  }

  // ---- faults

  private fault(f: FaultEvent): void {
    if (this.healed) return;
    switch (f.kind) {
      case 'crash':
        if (!this.live.has(f.region)) return;
        this.note(`crash ${f.region}`);
        this.crashes++;
        this.live.delete(f.region);
        return;
      case 'restart':
        if (!this.live.has(f.region)) this.restart(f.region);
        return;
      case 'partition':
        this.note(`partition ${f.sideA.join(',')} | ${f.sideB.join(',')}`);
        this.network.partition(f.sideA, f.sideB);
        return;
      case 'heal_partitions':
        this.note('partitions heal');
        this.network.healAll();
        return;
      case 'skew': {
        const skew = (this.skews.get(f.region) ?? 0) + f.jumpMs;
        this.note(`clock of ${f.region} jumps ${f.jumpMs} ms, to ${skew} ms off`);
        this.skews.set(f.region, skew);
        return;
      }
      case 'coord_pause':
        this.note(`coordinator pauses until ${f.untilMs} ms`);
        this.coordinator.pausedUntilMs = Math.max(this.coordinator.pausedUntilMs, f.untilMs);
        return;
      default: {
        const never: never = f;
        throw new Error(`unhandled fault ${JSON.stringify(never)}`);
      }
    }
  }

  private restart(region: string): void {
    const next = (this.incarnations.get(region) ?? 0) + 1;
    this.note(`restart ${region} as life #${next}`);
    this.start(region, next);
  }

  /** Ghost: how many times rows or slots changed anywhere (every disk's write count). */
  private generation(): number {
    let n = 0;
    for (const d of this.disks.values()) n += d.writes;
    return n;
  }

  /** Why the world is not quiet yet, or null when it is. */
  private unquietReason(): string | null {
    for (const r of this.regions) {
      const a = this.live.get(r);
      if (a === undefined) return `${r} is down`;
      const last = a.store.lastSeq();
      for (const [dest, s] of a.out) if (s.acked < last || s.snapshot !== null) return `${r} -> ${dest} acknowledged ${s.acked} of ${last}${s.snapshot !== null ? ' (snapshot running)' : ''}`;
      const unreconciled = a.leaders.unreconciled();
      if (unreconciled !== null) return unreconciled;
    }
    // With anti-entropy: every region has compared with every peer, finding nothing to
    // repair, since the last change anywhere (a divergence the streams leave — a fenced
    // change — is repaired, or shows here).
    if (this.ablations.noAntiEntropy !== true && this.opts.antiEntropyMs > 0) {
      const gen = this.generation();
      for (const r of this.regions) for (const p of this.regions) if (r !== p && this.aeClean.get(`${r}\0${p}`) !== gen) return `anti-entropy: no clean round ${r} -> ${p} since the last change`;
    }
    // Liveness after the heal: every partition has a leader that serves.
    for (const p of this.partitions.keys()) {
      const h = this.coordinator.holder(p);
      const a = h === null ? undefined : this.live.get(h.region);
      if (h === null || a === undefined || !a.leaders.serving(p, this.sched.nowMs + (this.skews.get(h.region) ?? 0)).ok) return `${p} has no serving leader (the coordinator shows ${JSON.stringify(h)})`;
    }
    return null;
  }
}

const duplicable = new Set<WireMessage['kind']>(['batch', 'batch_reply', 'snapshot', 'snapshot_reply', 'ping', 'pong']);

function describe(m: WireMessage): string {
  switch (m.kind) {
    case 'batch':
      return `batch #${m.batch.id} ${m.batch.firstSeq}..${m.batch.lastSeq} (${m.batch.changes.length} changes)`;
    case 'batch_reply':
      return `reply to #${m.id}: ${m.reply === 'refused' ? 'refused' : JSON.stringify(m.reply)}`;
    case 'snapshot':
      return `snapshot #${m.id} up to ${m.seq} (${m.changes.length} changes)`;
    case 'snapshot_reply':
      return `snapshot #${m.id} ${m.ok ? 'done' : 'failed'}`;
    case 'coord':
      return `coordinator request #${m.id}: ${m.op.kind} ${m.partition}`;
    case 'coord_reply':
      return `coordinator answer #${m.id} (${m.partition}): ${JSON.stringify(m.result)}`;
    case 'watch':
      return `watch ${m.partition}: ${m.holder === null ? 'free' : `${m.holder.region} epoch ${m.holder.epoch}`} (rev ${m.revision})`;
    case 'sync':
      return `sync #${m.id} ${m.partition} epoch ${m.epoch}: ${m.changes.map((c) => `${c.key}=${c.kind === 'row' ? c.value : ''}`).join(', ')}`;
    case 'sync_reply':
      return `sync #${m.id} ${m.ok ? 'persisted' : `refused (${m.reason})`}`;
    case 'pull':
      return `pull #${m.id} ${m.partition}${m.leaderEpoch === undefined ? '' : ` (to reconcile, leader epoch ${m.leaderEpoch})`}`;
    case 'pull_reply':
      return `pull #${m.id}: ${m.rows === null ? 'refused: not caught up as the leader' : `${m.rows.length} rows`}`;
    case 'forward':
      return `forward #${m.id}: ${JSON.stringify(m.request)}`;
    case 'forward_reply':
      return `forward #${m.id} answered ${JSON.stringify(m.reply)}`;
    case 'ae_list':
      return `anti-entropy #${m.id}: list`;
    case 'ae_list_reply':
      return `anti-entropy #${m.id}: ${m.classes.reduce((n, c) => n + c.entries.length, 0)} entries`;
    case 'ae_get':
      return `anti-entropy #${m.id}: get ${m.entries.map((e) => e.key).join(', ')}`;
    case 'ae_get_reply':
      return `anti-entropy #${m.id}: ${m.changes.length} changes`;
    case 'ae_repair':
      return `anti-entropy #${m.id}: repair ${m.changes.map((c) => `${c.key}=${c.kind === 'row' ? c.value : ''}`).join(', ')}`;
    case 'ae_repair_reply':
      return `anti-entropy #${m.id}: ${m.applied === null ? 'refused' : `${m.applied} applied`}`;
    case 'ping':
    case 'pong':
      return m.kind;
    default:
      return unreachable(m);
  }
}

export function runSeed(seed: number, opts: SimOptions = defaultSimOptions): SimResult {
  return new SimWorld(seed, opts).run();
}
