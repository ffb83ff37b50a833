// A region as the simulator runs it: the in-memory store driven by the PURE replication
// cores (outbound.ts, inbound.ts, batch.ts, retention.ts) — the same cores the Replicator
// shell drives over the mesh, with this class as their shell: it reads the log, cuts
// batches, keeps the request timeouts and feeds every outcome back in.
//
// Its own time is the world's time plus its clock skew: the HLC, the streams' cadences and
// the watermarks' source clocks all see the skewed clock, as on a real machine.

import { assert, ClockOffsetError, unreachable } from '../../src/lib/index.js';
import { coversRange, cutBatch } from '../../src/replication/batch.js';
import type { ReplicationConfig } from '../../src/replication/index.js';
import { initialInbound, stepInbound, type InboundEffect, type InboundInput, type InboundLimits, type InboundState } from '../../src/replication/inbound.js';
import { initialOutbound, stepOutbound, type OutboundEffect, type OutboundInput, type OutboundState } from '../../src/replication/outbound.js';
import { truncationPoint } from '../../src/replication/retention.js';
import type { LeadershipConfig } from '../../src/replication/index.js';
import { PartitionUnreconciled, type Change } from '../../src/store/index.js';
import { SimLeaders } from './leaders.js';
import { MemoryStore, type Disk, type StoreFaults } from './memory-store.js';
import { planRepair } from '../../src/replication/anti-entropy.js';
import type { EntryRef } from '../../src/replication/messages.js';
import { coordinatorId, type AeClass, type ClientReply, type ClientRequest, type RegionActor, type RegionEffect, type RegionInput, type StrongOp, type WireMessage } from './protocol.js';
import type { Residency } from './residency.js';

export interface RegionOptions {
  readonly id: string;
  readonly peers: readonly string[];
  readonly incarnation: number;
  readonly disk: Disk;
  readonly residency: Residency;
  readonly config: ReplicationConfig;
  readonly maxClockOffsetMs: number;
  /** This region's clock minus the world's, now (the world may move it). */
  readonly skewMs: () => number;
  /** Seeded draws for this region's own faults (a failed apply transaction). */
  readonly rand: () => number;
  readonly applyFailureRate: number;
  /** Home partitions and their candidate orders (home, sync follower, other allowed). */
  readonly partitions: ReadonlyMap<string, readonly string[]>;
  readonly leadership: LeadershipConfig;
  readonly timing: LeadershipTiming;
  /** Ablations that tests use to show the invariants catch them (all off normally). */
  readonly faults?: RegionFaults;
  /** One anti-entropy round (with the next peer in turn) this often; 0: none. */
  readonly antiEntropyMs: number;
}

export interface LeadershipTiming {
  readonly coordTimeoutMs: number;
  readonly pullTimeoutMs: number;
  readonly readEveryMs: number;
  /** Sync pushes and forwarded requests give up after this long (the answer: unknown). */
  readonly requestTimeoutMs: number;
  readonly pingEveryMs: number;
  /** A peer not heard from for this long is down in this region's view (the prober). */
  readonly downAfterMs: number;
}

export interface RegionFaults extends StoreFaults {
  /** Acknowledge a survive: region write at local commit, before the sync push. */
  readonly ackBeforeSync?: boolean;
  /** service.ts before the fix (README: findings #4): strong reads see rows whose
   *  synchronous copy is not confirmed. The default is service.ts now: such a read pushes
   *  the row to the synchronous follower first and answers only once it is persisted. */
  readonly readUnsynced?: boolean;
  /** leaders.ts / node.ts before the fix (README: findings #3): the synchronous follower is
   *  the first other candidate up and is not recorded; a new leader pulls once from every
   *  candidate up and serves whatever failed. */
  readonly bestEffortCatchUp?: boolean;
  /** Not in src (an opt-in): a new leader, caught up, writes its older-epoch rows again
   *  under its own epoch (README: findings #1; src repairs by anti-entropy instead). */
  readonly relogOnTakeover?: boolean;
  /** leaders.ts now (README: findings #5, fixed): reconcile by the store's
   *  partition_epochs.led whenever a leader of a newer epoch is observed, whatever the
   *  leadership core remembers. On unless false (false: before the fix, deposedFrom only). */
  readonly reconcileByStoreLed?: boolean;
  /** service.ts before the fix (README: findings #4): a write (a conditional one too) is
   *  judged against a row whose synchronous copy is not confirmed. The default is
   *  service.ts now: the row's copy is confirmed first. */
  readonly judgeUnsynced?: boolean;
  /** leaders.ts before the fix: the synchronous follower recorded by this life is kept
   *  when it takes leadership again (another leader may have recorded another since). */
  readonly keepSyncCacheOnTake?: boolean;
  /** The coordinator before takeLeadership's eligibility rule: any region takes a free
   *  key, whatever it led and has not reconciled (findings #7 and #8). Read by the world. */
  readonly ignoreEligibility?: boolean;
  /** leaders.ts before the fix of seed 15863: a deposed leader reconciles against the
   *  holder's rows whether or not it has caught up. */
  readonly reconcileAgainstAnyHolder?: boolean;
  /** No anti-entropy (the stream-only world of the mutant tests; README). */
  readonly noAntiEntropy?: boolean;
}

/** Where a strong operation's answer goes: to the client, or back to the forwarding region. */
type ReplyTo = { readonly kind: 'client'; readonly requestId: number } | { readonly kind: 'forward'; readonly to: string; readonly toIncarnation: number; readonly id: number };

/** How long a snapshot may take before the source gives up on it (the shell: 15 s). */
const snapshotTimeoutFactor = 4;

export class ReplicatingRegion implements RegionActor {
  readonly id: string;
  readonly incarnation: number;
  readonly store: MemoryStore;
  readonly out = new Map<string, OutboundState>();
  readonly in = new Map<string, InboundState>();
  private readonly inLimits: InboundLimits;
  /** Requests sent and not yet answered or timed out, by `${dest}\0${kind}\0${id}`; for a
   *  snapshot, the log's last sequence when it was taken (the destination's new mark). */
  private readonly pending = new Map<string, number>();
  /** Batches received and not yet answered: which life of the source sent each. */
  private readonly waiting = new Map<string, number>();
  private snapshotIds = 1;
  private effects: RegionEffect[] = [];
  readonly leaders: SimLeaders;
  private nowMs = 0;
  private readonly heard = new Map<string, number>();
  private lastPingMs = -Infinity;
  private nextId = 1;
  /** Sync pushes waiting for the follower's answer. */
  private readonly syncing = new Map<number, (ok: boolean, reason: string) => void>();
  /** service.ts `unconfirmed`: survive: region rows committed here whose synchronous copy
   *  is not confirmed yet (or failed), counted per row; volatile, as in the process. */
  private readonly unconfirmed = new Map<string, number>();
  /** Strong operations forwarded to the leader, waiting for its answer. */
  private readonly forwarding = new Map<number, ReplyTo>();
  /** Anti-entropy (replicator.ts): the next peer in turn, rounds skipped for a busy
   *  stream, the last round's start, the round in flight. */
  private aeNext = 0;
  private aeSkipped = 0;
  private aeLastMs = -Infinity;
  private aeRounds = 0;
  private ae: { id: number; round: number; peer: string; push: EntryRef[]; clean: boolean } | null = null;

  constructor(private readonly o: RegionOptions) {
    this.id = o.id;
    this.incarnation = o.incarnation;
    this.store = new MemoryStore(o.id, o.disk, (t, h) => o.residency.mayStoreAt(o.id, t, h), o.maxClockOffsetMs, o.faults);
    // As the Replicator: a parked batch waits well under the source's retry timeout.
    this.inLimits = { maxParked: o.config.maxInflight, parkMs: Math.max(1, Math.floor(o.config.retryMs / 4)) };
    const log = { firstSeq: this.store.firstSeq(), lastSeq: this.store.lastSeq() };
    const now = Math.floor(this.localMs(0));
    for (const p of o.peers) {
      // Batch ids from the clock, as the shell does, so a restart does not reuse them.
      this.out.set(p, { ...initialOutbound(p, o.disk.outboundAcks.get(p) ?? 0, log), nextId: Math.max(1, now) });
      const mark = o.disk.inbound.get(p);
      this.in.set(p, initialInbound(p, mark?.applied ?? 0, mark?.sourceMs ?? 0));
    }
    this.nowMs = now;
    this.leaders = new SimLeaders({
      region: o.id,
      incarnation: o.incarnation,
      partitions: o.partitions,
      config: o.leadership,
      store: this.store,
      isUp: (r) => this.isUp(r),
      emit: (e) => this.effects.push(e),
      coordTimeoutMs: o.timing.coordTimeoutMs,
      pullTimeoutMs: o.timing.pullTimeoutMs,
      readEveryMs: o.timing.readEveryMs,
      relogOnTakeover: o.faults?.relogOnTakeover === true,
      bestEffortCatchUp: o.faults?.bestEffortCatchUp === true,
      reconcileByStoreLed: o.faults?.reconcileByStoreLed !== false,
      keepSyncCacheOnTake: o.faults?.keepSyncCacheOnTake === true,
    });
  }

  /** The prober's verdict: heard from within downAfterMs (a fresh life knows nobody yet). */
  isUp(region: string): boolean {
    const at = this.heard.get(region);
    return at !== undefined && this.nowMs - at < this.o.timing.downAfterMs;
  }

  private localMs(worldMs: number): number {
    return worldMs + this.o.skewMs();
  }

  step(input: RegionInput): RegionEffect[] {
    this.effects = [];
    const nowMs = this.localMs(input.nowMs);
    this.nowMs = nowMs;
    switch (input.kind) {
      case 'tick':
        this.tick(nowMs);
        break;
      case 'message':
        this.receive(nowMs, input.from, input.fromIncarnation, input.message);
        break;
      case 'timeout': {
        if (input.request === 'coord') {
          this.leaders.coordTimedOut(nowMs, input.dest, input.id);
          break;
        }
        if (input.request === 'retake') {
          this.leaders.retakeDue(nowMs, input.dest);
          break;
        }
        if (input.request === 'pull') {
          this.leaders.pulled(nowMs, input.id, null);
          break;
        }
        if (input.request === 'sync') {
          const done = this.syncing.get(input.id);
          this.syncing.delete(input.id);
          done?.(false, `${input.dest} did not answer the sync in time`);
          break;
        }
        if (input.request === 'ae') {
          if (this.ae !== null && this.ae.id === input.id) this.aeEnd(false);
          break;
        }
        if (input.request === 'forward') {
          const waiting = this.forwarding.get(input.id);
          this.forwarding.delete(input.id);
          if (waiting !== undefined) this.answer(waiting, { kind: 'unknown', reason: `${input.dest} did not answer the forward in time` });
          break;
        }
        const k = `${input.dest}\0${input.request}\0${input.id}`;
        if (this.pending.delete(k)) {
          if (input.request === 'batch') this.stepOut(input.dest, { kind: 'failed', nowMs, id: input.id });
          else this.stepOut(input.dest, { kind: 'snapshot_failed', nowMs });
        }
        break;
      }
      case 'client': {
        const r = input.request;
        if (r.kind === 'strong') this.strongRequest(nowMs, r, { kind: 'client', requestId: input.requestId });
        else this.effects.push({ kind: 'client_reply', requestId: input.requestId, reply: this.serve(nowMs, r) });
        break;
      }
      default:
        unreachable(input);
    }
    return this.effects;
  }

  // ---- clients

  private serve(nowMs: number, r: ClientRequest): ClientReply {
    switch (r.kind) {
      case 'put':
        return { kind: 'put', version: this.store.put(r.table, r.key, r.value, null, nowMs).version };
      case 'increment':
        this.store.increment(r.table, r.key, r.by, nowMs);
        return { kind: 'increment' };
      case 'strong':
        return { kind: 'refused', reason: 'strong operations go through strongRequest' };
      default:
        return unreachable(r);
    }
  }

  private answer(to: ReplyTo, reply: ClientReply): void {
    if (to.kind === 'client') this.effects.push({ kind: 'client_reply', requestId: to.requestId, reply });
    else this.reply(to.to, to.toIncarnation, { kind: 'forward_reply', id: to.id, reply });
  }

  /** data/service.ts for a home table: run at the partition's serving leader with its
   *  epoch, else forward to the leader as last seen (once), else refuse. */
  private strongRequest(nowMs: number, r: Extract<ClientRequest, { kind: 'strong' }>, replyTo: ReplyTo): void {
    const serving = this.leaders.serving(r.home, nowMs);
    if (!serving.ok) {
      const leader = this.leaders.leaderOf(r.home);
      if (r.forwarded === true || leader === null || leader.region === this.id) return this.answer(replyTo, { kind: 'refused', reason: `${this.id} does not lead ${r.home}: ${serving.reason}` });
      const id = this.nextId++;
      this.forwarding.set(id, replyTo);
      this.effects.push({ kind: 'send', to: leader.region, toIncarnation: null, message: { kind: 'forward', id, request: { ...r, forwarded: true } } });
      this.effects.push({ kind: 'timer', afterMs: this.o.timing.requestTimeoutMs, input: { kind: 'timeout', nowMs: 0, dest: leader.region, request: 'forward', id } });
      return;
    }
    this.effects.push({ kind: 'accepted', partition: r.home, epoch: serving.epoch });
    const op = r.op;
    const rowKey = `${r.table}\0${op.key}`;
    const cur = this.store.get(r.table, op.key);
    const value = cur?.value ?? null;
    if (op.kind === 'read') {
      const read: ClientReply = { kind: 'strong', output: value, version: cur?.version ?? null };
      if (cur === undefined || !this.unconfirmed.has(rowKey) || this.o.faults?.readUnsynced === true) return this.answer(replyTo, read);
      // service.ts get: confirm the row's synchronous copy before showing it (the row as it
      // is, under the epoch it carries); a failure answers 503: no effect, the client retries.
      return this.syncToFollower(r.home, { kind: 'row', table: cur.table, key: cur.key, value: cur.value, version: cur.version, prev: null, home: cur.home, ...(cur.epoch !== undefined && { epoch: cur.epoch }) }, (ok, reason) => {
        if (!ok) return this.answer(replyTo, { kind: 'refused', reason: `${r.table}/${op.key}: its synchronous copy could not be confirmed: ${reason}` });
        this.unconfirmed.delete(rowKey);
        this.answer(replyTo, read);
      });
    }
    // service.ts: a write to a row whose synchronous copy is not confirmed confirms it
    // first (the row as it is), so that a condition is not judged against a write a
    // failover would lose; a failure answers 503 (no effect). The epoch stays the one
    // checked above (service.ts takes it before the push).
    if (cur !== undefined && this.unconfirmed.has(rowKey) && this.o.faults?.judgeUnsynced !== true) {
      return this.syncToFollower(r.home, { kind: 'row', table: cur.table, key: cur.key, value: cur.value, version: cur.version, prev: null, home: cur.home, ...(cur.epoch !== undefined && { epoch: cur.epoch }) }, (ok, reason) => {
        if (!ok) return this.answer(replyTo, { kind: 'refused', reason: `${r.table}/${op.key}: its synchronous copy could not be confirmed: ${reason}` });
        this.unconfirmed.delete(rowKey);
        this.strongWrite(this.nowMs, r, op, serving.epoch, replyTo);
      });
    }
    if (cur === undefined && this.o.faults?.judgeUnsynced !== true) this.unconfirmed.delete(rowKey);
    this.strongWrite(nowMs, r, op, serving.epoch, replyTo);
  }

  /** service.ts commitHere: the condition judged against the row as it is, the commit
   *  under `epoch`, acknowledged once the synchronous follower persisted it. */
  private strongWrite(nowMs: number, r: Extract<ClientRequest, { kind: 'strong' }>, op: Exclude<StrongOp, { kind: 'read' }>, epoch: number, replyTo: ReplyTo): void {
    const rowKey = `${r.table}\0${op.key}`;
    const cur = this.store.get(r.table, op.key);
    const value = cur?.value ?? null;
    const serving = { epoch };
    if (op.kind === 'cas' && value !== op.expected) return this.answer(replyTo, { kind: 'strong', output: 'fail', version: cur?.version ?? null });
    const change = this.store.put(r.table, op.key, op.value, r.home, nowMs, serving.epoch);
    this.effects.push({ kind: 'committed', change, epoch: serving.epoch });
    const ok: ClientReply = { kind: 'strong', output: 'ok', version: change.version };
    // survive: region — acknowledged only once the synchronous follower persisted it.
    const early = this.o.faults?.ackBeforeSync === true;
    if (early) this.answer(replyTo, ok);
    this.unconfirmed.set(rowKey, (this.unconfirmed.get(rowKey) ?? 0) + 1);
    this.syncToFollower(r.home, change, (synced, reason) => {
      if (!synced) {
        // Stays unconfirmed until a later push succeeds.
        if (!early) this.answer(replyTo, { kind: 'unknown', reason: `committed here, not acknowledged: ${reason}` });
        return;
      }
      const left = (this.unconfirmed.get(rowKey) ?? 1) - 1;
      if (left <= 0) this.unconfirmed.delete(rowKey);
      else this.unconfirmed.set(rowKey, left);
      if (!early) this.answer(replyTo, ok);
    });
  }

  /** service.ts syncToFollower: the follower, recorded in the coordinator, then the push. */
  private syncToFollower(partition: string, change: Change, done: (ok: boolean, reason: string) => void): void {
    const to = this.leaders.syncFollower(partition);
    if (to === undefined) return done(false, `no synchronous follower of ${partition} is up`);
    this.leaders.recordSyncFollower(partition, to, (recorded) => {
      if (!recorded) return done(false, `the synchronous follower ${to} could not be recorded in the coordinator`);
      const id = this.nextId++;
      this.syncing.set(id, done);
      this.effects.push({ kind: 'send', to, toIncarnation: null, message: { kind: 'sync', id, partition, epoch: change.kind === 'row' ? (change.epoch ?? 0) : 0, changes: [change] } });
      this.effects.push({ kind: 'timer', afterMs: this.o.timing.requestTimeoutMs, input: { kind: 'timeout', nowMs: 0, dest: to, request: 'sync', id } });
    });
  }

  /** sync.ts acceptSync: fencing, then the changes in one transaction. */
  private acceptSync(nowMs: number, partition: string, epoch: number, changes: readonly Change[]): { ok: boolean; reason: string } {
    const known = this.store.partitionEpoch(partition).epoch;
    if (epoch < known) return { ok: false, reason: `fenced: epoch ${epoch} is older than ${known}` };
    if (changes.some((c) => c.kind === 'row' && !this.o.residency.mayStoreAt(this.id, c.table, c.home))) return { ok: false, reason: 'residency' };
    try {
      this.store.raiseEpoch(partition, epoch);
      this.store.apply(changes, nowMs);
      return { ok: true, reason: '' };
    } catch (e) {
      if (e instanceof PartitionUnreconciled) return { ok: false, reason: e.message };
      if (!(e instanceof ClockOffsetError)) throw e;
      return { ok: false, reason: 'clock offset' };
    }
  }

  // ---- outbound

  private tick(nowMs: number): void {
    if (nowMs - this.lastPingMs >= this.o.timing.pingEveryMs) {
      this.lastPingMs = nowMs;
      for (const p of this.o.peers) this.effects.push({ kind: 'send', to: p, toIncarnation: null, message: { kind: 'ping' } });
    }
    this.leaders.tick(nowMs);
    if (this.o.antiEntropyMs > 0 && nowMs - this.aeLastMs >= this.o.antiEntropyMs) {
      this.aeLastMs = nowMs;
      this.aeStart();
    }
    for (const [dest, s] of this.out) this.leaders.homeCaughtUp(nowMs, dest, this.store.lastSeq() - s.acked);
    const log = { firstSeq: this.store.firstSeq(), lastSeq: this.store.lastSeq() };
    for (const dest of this.o.peers) this.stepOut(dest, { kind: 'tick', nowMs, log });
    const upTo = truncationPoint(
      [...this.out.values()].map((s) => s.acked),
      { firstSeq: this.store.firstSeq(), lastSeq: this.store.lastSeq() },
      this.o.config.logKeep,
    );
    if (upTo !== null) this.store.truncateLog(upTo);
    // Parked batches' deadlines: the tick cadence is well under parkMs, so the inbound
    // streams' `wake` effects need no timers of their own.
    for (const source of this.o.peers) this.stepIn(source, { kind: 'tick', nowMs });
  }

  // ---- anti-entropy (replicator.ts antiEntropyRound, repair.ts repairRound): not fenced
  // (no watermark), merged by Store's rules, refused while a partition is unreconciled

  private bothMay(peer: string): (table: string, home: string | null) => boolean {
    return (t, h) => this.o.residency.mayStoreAt(this.id, t, h) && this.o.residency.mayStoreAt(peer, t, h);
  }

  private aeStart(): void {
    const peer = this.o.peers[this.aeNext++ % Math.max(1, this.o.peers.length)];
    if (peer === undefined || this.ae !== null) return;
    // A busy stream's round is skipped, never more than four in a row.
    const st = this.out.get(peer);
    if (st !== undefined && this.store.lastSeq() > st.acked && this.aeSkipped < 4) {
      this.aeSkipped++;
      return;
    }
    this.aeSkipped = 0;
    const id = this.nextId++;
    this.ae = { id, round: ++this.aeRounds, peer, push: [], clean: false };
    this.effects.push({ kind: 'ae_round', peer, round: this.ae.round, phase: 'start' });
    this.aeSend(peer, { kind: 'ae_list', id });
  }

  private aeSend(peer: string, message: WireMessage): void {
    this.effects.push({ kind: 'send', to: peer, toIncarnation: null, message });
    if ('id' in message) this.effects.push({ kind: 'timer', afterMs: this.o.config.retryMs * snapshotTimeoutFactor, input: { kind: 'timeout', nowMs: 0, dest: peer, request: 'ae', id: message.id } });
  }

  private aeEnd(clean: boolean): void {
    const a = this.ae;
    if (a === null) return;
    this.ae = null;
    this.effects.push({ kind: 'ae_round', peer: a.peer, round: a.round, phase: clean ? 'clean' : 'end' });
  }

  /** The round's plan (planRepair per class), on the peer's listing. */
  private aePlan(from: string, id: number, classes: readonly AeClass[]): void {
    const a = this.ae;
    if (a === null || a.id !== id || a.peer !== from) return;
    const both = this.bothMay(from);
    const mine = this.store.digestEntries(both);
    const theirs = new Map<string, AeClass>();
    for (const c of classes) if (both(c.table, c.home)) theirs.set(`${c.counter ? 'c' : 'r'}\0${c.table}\0${c.home ?? ''}`, c);
    const pull: EntryRef[] = [];
    for (const k of new Set([...mine.keys(), ...theirs.keys()])) {
      const m = mine.get(k);
      const t = theirs.get(k);
      const table = (m ?? t)?.table as string;
      const plan = planRepair(m?.entries ?? [], t?.entries ?? []);
      for (const e of plan.push) a.push.push({ table, key: e.key, slot: e.slot });
      for (const e of plan.pull) pull.push({ table, key: e.key, slot: e.slot });
    }
    a.clean = pull.length === 0 && a.push.length === 0;
    if (a.clean) return this.aeEnd(true);
    if (pull.length > 0) return this.aeSend(from, { kind: 'ae_get', id: (a.id = this.nextId++), entries: pull });
    this.aePush();
  }

  private aePulled(from: string, id: number, changes: readonly Change[]): void {
    const a = this.ae;
    if (a === null || a.id !== id || a.peer !== from) return;
    try {
      this.store.apply(changes.filter((c) => this.o.residency.mayStoreAt(this.id, c.table, c.kind === 'row' ? c.home : null)), this.nowMs);
    } catch (e) {
      if (!(e instanceof ClockOffsetError) && !(e instanceof PartitionUnreconciled)) throw e;
      return this.aeEnd(false); // the round failed
    }
    this.aePush();
  }

  private aePush(): void {
    const a = this.ae;
    if (a === null) return;
    const changes = this.store.changesFor(a.push).filter((c) => this.o.residency.mayStoreAt(a.peer, c.table, c.kind === 'row' ? c.home : null));
    if (changes.length === 0) return this.aeEnd(false);
    this.aeSend(a.peer, { kind: 'ae_repair', id: (a.id = this.nextId++), changes });
  }

  /** The answering side's /replication/repair: the changes merged, no watermark. */
  private aeRepair(changes: readonly Change[]): number | null {
    try {
      return this.store.apply(changes, this.nowMs).applied;
    } catch (e) {
      if (!(e instanceof ClockOffsetError) && !(e instanceof PartitionUnreconciled)) throw e;
      return null;
    }
  }

  private stepOut(dest: string, input: OutboundInput): void {
    const s = this.out.get(dest);
    assert(s !== undefined, `an outbound stream to ${dest}`);
    const r = stepOutbound(s, input, this.o.config);
    this.out.set(dest, r.state);
    for (const e of r.effects) this.runOut(dest, e, input.nowMs);
  }

  private runOut(dest: string, e: OutboundEffect, nowMs: number): void {
    switch (e.kind) {
      case 'persist_ack':
        this.store.disk.outboundAcks.set(dest, e.acked);
        return;
      case 'send': {
        const entries = e.lastSeq >= e.firstSeq ? this.store.changesBetween(e.firstSeq, e.lastSeq) : [];
        assert(coversRange(entries, e.firstSeq, e.lastSeq), 'the log holds a batch being cut');
        const batch = cutBatch({ source: this.id, dest, id: e.id, firstSeq: e.firstSeq, lastSeq: e.lastSeq, logLastSeq: this.store.lastSeq(), nowMs }, entries, this.o.residency.mayStoreAt);
        this.request(dest, 'batch', e.id, 0, { kind: 'batch', batch }, this.o.config.retryMs);
        return;
      }
      case 'snapshot': {
        const id = this.snapshotIds++;
        const changes = this.store.snapshotFor((t, h) => this.o.residency.mayStoreAt(dest, t, h));
        const seq = this.store.lastSeq();
        this.request(dest, 'snapshot', id, seq, { kind: 'snapshot', id, changes, seq, sourceMs: nowMs }, this.o.config.retryMs * snapshotTimeoutFactor);
        return;
      }
      default:
        return unreachable(e);
    }
  }

  private request(dest: string, kind: 'batch' | 'snapshot', id: number, seq: number, message: WireMessage, timeoutMs: number): void {
    this.pending.set(`${dest}\0${kind}\0${id}`, seq);
    this.effects.push({ kind: 'send', to: dest, toIncarnation: null, message });
    this.effects.push({ kind: 'timer', afterMs: timeoutMs, input: { kind: 'timeout', nowMs: 0, dest, request: kind, id } });
  }

  // ---- inbound

  private receive(nowMs: number, from: string, fromIncarnation: number, m: WireMessage): void {
    if (from !== coordinatorId) this.heard.set(from, nowMs);
    switch (m.kind) {
      case 'ping':
        return this.reply(from, fromIncarnation, { kind: 'pong' });
      case 'pong':
        return;
      case 'coord':
      case 'sync_reply': {
        if (m.kind === 'coord') return; // only the coordinator takes these
        const done = this.syncing.get(m.id);
        if (done === undefined) return;
        this.syncing.delete(m.id);
        return done(m.ok, m.ok ? '' : `the sync follower ${from} refused: ${m.reason}`);
      }
      case 'coord_reply':
        return this.leaders.coordAnswered(nowMs, m.id, m.partition, m.result);
      case 'watch':
        return this.leaders.watched(nowMs, m);
      case 'sync': {
        const r = this.acceptSync(nowMs, m.partition, m.epoch, m.changes);
        return this.reply(from, fromIncarnation, { kind: 'sync_reply', id: m.id, ok: r.ok, reason: r.reason });
      }
      case 'pull': {
        // A reconcile reads the leader's rows only once it has caught up under that epoch
        // (it may have failed back since); before, they may lack acknowledged writes (seed 15863).
        const refuse = m.leaderEpoch !== undefined && this.o.faults?.reconcileAgainstAnyHolder !== true && this.leaders.caughtUpFor(m.partition) < m.leaderEpoch;
        return this.reply(from, fromIncarnation, { kind: 'pull_reply', id: m.id, rows: refuse ? null : this.store.partitionRows(m.partition) });
      }
      case 'pull_reply':
        return this.leaders.pulled(nowMs, m.id, m.rows);
      case 'forward':
        if (m.request.kind !== 'strong') return;
        return this.strongRequest(nowMs, m.request, { kind: 'forward', to: from, toIncarnation: fromIncarnation, id: m.id });
      case 'ae_list': {
        const classes = [...this.store.digestEntries(this.bothMay(from)).values()];
        return this.reply(from, fromIncarnation, { kind: 'ae_list_reply', id: m.id, classes });
      }
      case 'ae_list_reply':
        return this.aePlan(from, m.id, m.classes);
      case 'ae_get':
        return this.reply(from, fromIncarnation, { kind: 'ae_get_reply', id: m.id, changes: this.store.changesFor(m.entries).filter((c) => this.o.residency.mayStoreAt(from, c.table, c.kind === 'row' ? c.home : null)) });
      case 'ae_get_reply':
        return this.aePulled(from, m.id, m.changes);
      case 'ae_repair':
        return this.reply(from, fromIncarnation, { kind: 'ae_repair_reply', id: m.id, applied: this.aeRepair(m.changes) });
      case 'ae_repair_reply':
        if (this.ae !== null && this.ae.id === m.id && this.ae.peer === from) this.aeEnd(false);
        return;
      case 'forward_reply': {
        const w = this.forwarding.get(m.id);
        if (w === undefined) return;
        this.forwarding.delete(m.id);
        return this.answer(w, m.reply);
      }
      case 'batch': {
        const key = `${from}\0${m.batch.id}`;
        // The shell answers a second copy of a waiting batch with 409: a failure there.
        if (this.waiting.has(key)) return this.reply(from, fromIncarnation, { kind: 'batch_reply', id: m.batch.id, reply: 'refused' });
        this.waiting.set(key, fromIncarnation);
        return this.stepIn(from, { kind: 'batch', nowMs, batch: m.batch });
      }
      case 'batch_reply': {
        // Only the first answer to a request still waiting counts (the shell's promise).
        if (!this.pending.delete(`${from}\0batch\0${m.id}`)) return;
        return this.stepOut(from, m.reply === 'refused' ? { kind: 'failed', nowMs, id: m.id } : { kind: 'reply', nowMs, id: m.id, reply: m.reply });
      }
      case 'snapshot': {
        let ok = true;
        try {
          this.store.apply(m.changes, nowMs);
          this.stepIn(from, { kind: 'restored', nowMs, seq: m.seq, sourceMs: m.sourceMs });
        } catch (e) {
          if (!(e instanceof ClockOffsetError) && !(e instanceof PartitionUnreconciled)) throw e;
          ok = false;
        }
        return this.reply(from, fromIncarnation, { kind: 'snapshot_reply', id: m.id, ok });
      }
      case 'snapshot_reply': {
        const k = `${from}\0snapshot\0${m.id}`;
        const seq = this.pending.get(k);
        if (seq === undefined) return;
        this.pending.delete(k);
        return this.stepOut(from, m.ok ? { kind: 'snapshot_done', nowMs, seq } : { kind: 'snapshot_failed', nowMs });
      }
      default:
        return unreachable(m);
    }
  }

  private reply(to: string, toIncarnation: number, message: WireMessage): void {
    this.effects.push({ kind: 'send', to, toIncarnation, message });
  }

  private stepIn(source: string, first: InboundInput): void {
    // A queue, as in the shell: an apply's outcome is the next input.
    const inputs: InboundInput[] = [first];
    for (let input = inputs.shift(); input !== undefined; input = inputs.shift()) {
      const s = this.in.get(source);
      assert(s !== undefined, `an inbound stream from ${source}`);
      const r = stepInbound(s, input, this.inLimits);
      this.in.set(source, r.state);
      for (const e of r.effects) {
        const next = this.runIn(source, e, input.nowMs);
        if (next !== undefined) inputs.push(next);
      }
    }
  }

  private runIn(source: string, e: InboundEffect, nowMs: number): InboundInput | undefined {
    switch (e.kind) {
      case 'apply': {
        // A failed transaction (a busy disk): nothing is written, the source retries.
        if (this.o.rand() < this.o.applyFailureRate) return { kind: 'applied', nowMs, ok: false };
        try {
          this.store.apply(e.changes, nowMs, { source, applied: e.watermark.applied, sourceMs: e.watermark.sourceMs });
          return { kind: 'applied', nowMs, ok: true };
        } catch (err) {
          // The shell: any failed apply is a failed batch, retried by the source.
          if (!(err instanceof ClockOffsetError) && !(err instanceof PartitionUnreconciled)) throw err;
          return { kind: 'applied', nowMs, ok: false };
        }
      }
      case 'persist':
        this.store.disk.inbound.set(source, { applied: e.applied, sourceMs: e.sourceMs });
        return undefined;
      case 'reply':
      case 'refuse': {
        const key = `${source}\0${e.id}`;
        const to = this.waiting.get(key);
        this.waiting.delete(key);
        if (to !== undefined) this.reply(source, to, { kind: 'batch_reply', id: e.id, reply: e.kind === 'reply' ? e.reply : 'refused' });
        return undefined;
      }
      case 'wake':
        return undefined;
      default:
        return unreachable(e);
    }
  }
}
