// The replication shell: the I/O around the pure state machines. It reads the change log,
// sends batches, snapshots and anti-entropy requests over the mesh, answers the peers'
// requests, and applies what arrives to the store — feeding every outcome back into the
// machines (outbound.ts, inbound.ts) that decide what happens next.
//
// Timers: one for all outbound streams, set to the earliest moment any of them needs a
// tick (cadence, retry, heartbeat); one interval for anti-entropy; one per parked inbound
// batch's deadline. Nothing ticks while there is nothing to do but heartbeats.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { assert, unreachable, type Logger } from '../lib/index.js';
import type { MeshClient } from '../mesh/index.js';
import type { LoggedChange, ResolvedConflict, Store } from '../store/index.js';
import { batchJson, coversRange, cutBatch, type MayStoreAt } from './batch.js';
import { checkReplicationConfig, type ReplicationConfig } from './config.js';
import { initialInbound, stepInbound, type InboundEffect, type InboundInput, type InboundLimits, type InboundState } from './inbound.js';
import { LagWindow } from './lag-window.js';
import type { BatchMessage, BatchReply } from './messages.js';
import { initialOutbound, outboundWakeMs, stepOutbound, type LogBounds, type OutboundEffect, type OutboundInput, type OutboundState } from './outbound.js';
import { callPeer, RawJson } from './peer-call.js';
import { answerBuckets, answerChanges, answerDigest, repairRound, type RepairSide } from './repair.js';
import { truncationPoint } from './retention.js';
import { sendSnapshot } from './snapshot.js';
import { batchBody, batchReplyBody, bucketsBody, changesBody, entriesBody, readJson, sendJson, snapshotDoneBody, WireError } from './wire.js';
import { z } from 'zod';

export interface ReplicatorOptions {
  readonly region: string;
  /** The regions this one replicates with (both ways). */
  readonly peers: readonly string[];
  readonly store: Store;
  readonly mesh: MeshClient;
  readonly mayStoreAt: MayStoreAt;
  /** Which tables are counters: their digest classes hold slots, not rows. */
  readonly tables: { readonly counters: readonly string[] };
  readonly config: ReplicationConfig;
  readonly logger: Logger;
  readonly now: () => number;
  /** Per applied batch: the lag of its oldest change (ms) and how many changes it held. */
  readonly onApplied?: (source: string, lagMs: number, count: number) => void;
  readonly onConflict?: (c: ResolvedConflict) => void;
}

export interface InboundStatus {
  readonly applied: number;
  readonly sourceMs: number;
  readonly lagMsLast: number;
  readonly lagMsP50: number;
  readonly lagMsP99: number;
  readonly changesApplied: number;
}

export interface ReplicationStatus {
  readonly inbound: Record<string, InboundStatus>;
  readonly outbound: Record<string, { readonly acked: number; readonly pending: number; readonly inflight: number; readonly snapshots: number }>;
  readonly conflicts: { readonly total: number; readonly sample: readonly ResolvedConflict[] };
  readonly log: { readonly entries: number; readonly firstSeq: number; readonly lastSeq: number };
  readonly antiEntropy: { readonly rounds: number; readonly repaired: number };
}

/** Conflicts kept for status(): the most recent ones. */
const conflictSampleSize = 50;
/** Anti-entropy and snapshot requests may carry thousands of entries: more time than a batch. */
const bulkTimeoutMs = 15_000;

const empty = z.object({}).passthrough();

export class Replicator {
  private readonly cfg: ReplicationConfig;
  private readonly inLimits: InboundLimits;
  private readonly out = new Map<string, OutboundState>();
  private readonly in = new Map<string, InboundState>();
  private readonly waiting = new Map<string, (r: BatchReply | 'refused') => void>();
  private readonly lag = new Map<string, LagWindow>();
  private readonly appliedCount = new Map<string, number>();
  private readonly conflictSample: ResolvedConflict[] = [];
  private conflictsTotal = 0;
  private aeRounds = 0;
  private aeRepaired = 0;
  private aeNext = 0;
  private aeRunning = false;
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly inboundTimers = new Set<NodeJS.Timeout>();
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  private aeTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly repairSide: RepairSide;
  private readonly counters: ReadonlySet<string>;

  private aeSkipped = 0;
  /** When each source's stream last brought changes (not heartbeats). */
  private readonly changesArrivedMs = new Map<string, number>();
  constructor(private readonly o: ReplicatorOptions) {
    checkReplicationConfig(o.config);
    assert(!o.peers.includes(o.region), 'a region is not its own peer');
    this.cfg = o.config;
    // A parked batch waits well under the source's retry timeout, so the source hears
    // "gap" before it gives up on its own.
    this.inLimits = { maxParked: o.config.maxInflight, parkMs: Math.max(1, Math.floor(o.config.retryMs / 4)) };
    this.counters = new Set(o.tables.counters);
    this.repairSide = { region: o.region, store: o.store, mayStoreAt: o.mayStoreAt, isCounter: (t) => this.counters.has(t) };
    const acks = o.store.outboundAcks();
    const log = this.logBounds();
    // Batch ids start from the clock so that ids stay unique across a restart.
    for (const p of o.peers) this.out.set(p, { ...initialOutbound(p, acks.get(p) ?? 0, log), nextId: Math.floor(o.now()) });
    const marks = o.store.inboundWatermarks();
    for (const p of o.peers) this.in.set(p, initialInbound(p, marks.get(p)?.applied ?? 0, marks.get(p)?.sourceMs ?? 0));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
    // Beyond setInterval's 32-bit range a timer fires every millisecond: such an
    // interval (anti_entropy: 0) means never.
    if (this.cfg.antiEntropyMs < 2 ** 31) this.aeTimer = setInterval(() => this.startAntiEntropy(), this.cfg.antiEntropyMs);
  }

  /** Stops the timers and waits for every request in flight (each has a timeout). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.aeTimer);
    for (const t of this.inboundTimers) clearTimeout(t);
    this.inboundTimers.clear();
    for (const answer of this.waiting.values()) answer('refused');
    this.waiting.clear();
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** After a local commit: ship soon (at the stream's cadence, not per write). */
  notifyCommitted(): void {
    // A region without peers never reads its log back: hold no tail at all.
    if (this.o.peers.length === 0) this.o.store.releaseTail(this.o.store.lastSeq());
    this.schedule();
  }

  /** The source's clock (ms) up to which this region holds everything from it; 0 if never heard. */
  freshness(source: string): number {
    return this.in.get(source)?.sourceMs ?? 0;
  }

  /** One anti-entropy exchange with `peer` now (a new leader catching up before it
   *  serves); the number of rows and slots repaired either way. */
  async repairWith(peer: string, timeoutMs: number): Promise<number> {
    const r = await repairRound(this.repairSide, this.o.mesh, peer, timeoutMs, this.o.now);
    this.aeRepaired += r.repaired;
    this.noteConflicts(r.conflicts);
    return r.repaired;
  }

  /** Runs one anti-entropy round now (with the next peer in turn); for tests and operators. */
  async antiEntropyNow(): Promise<void> {
    await this.antiEntropyRound(true);
  }

  status(): ReplicationStatus {
    const inbound: Record<string, InboundStatus> = {};
    for (const [source, s] of this.in) {
      const w = this.lag.get(source);
      inbound[source] = {
        applied: s.applied,
        sourceMs: s.sourceMs,
        lagMsLast: w?.last ?? 0,
        lagMsP50: w?.quantile(0.5) ?? 0,
        lagMsP99: w?.quantile(0.99) ?? 0,
        changesApplied: this.appliedCount.get(source) ?? 0,
      };
    }
    const lastSeq = this.o.store.lastSeq();
    const outbound: ReplicationStatus['outbound'] = {};
    for (const [dest, s] of this.out) outbound[dest] = { acked: s.acked, pending: Math.max(0, lastSeq - s.acked), inflight: s.inflight.length, snapshots: s.snapshots };
    return {
      inbound,
      outbound,
      conflicts: { total: this.conflictsTotal, sample: [...this.conflictSample] },
      log: { entries: this.o.store.logSize(), firstSeq: this.o.store.firstSeq(), lastSeq },
      antiEntropy: { rounds: this.aeRounds, repaired: this.aeRepaired },
    };
  }

  // ---- outbound

  private logBounds(): LogBounds {
    return { firstSeq: this.o.store.firstSeq(), lastSeq: this.o.store.lastSeq() };
  }

  private readonly pump = (): void => {
    this.timer = undefined;
    this.timerAtMs = Infinity;
    if (!this.running) return;
    const nowMs = this.o.now();
    const log = this.logBounds();
    for (const dest of this.o.peers) this.stepOut(dest, { kind: 'tick', nowMs, log });
    let sentToAll = this.o.store.lastSeq();
    for (const dest of this.o.peers) sentToAll = Math.min(sentToAll, this.out.get(dest)?.sentUpTo ?? 0);
    this.o.store.releaseTail(sentToAll);
    const upTo = truncationPoint(
      [...this.out.values()].map((s) => s.acked),
      this.logBounds(),
      this.cfg.logKeep,
    );
    if (upTo !== null) this.o.store.truncateLog(upTo);
    this.schedule();
  };

  private schedule(): void {
    if (!this.running) return;
    const lastSeq = this.o.store.lastSeq();
    let at = Infinity;
    for (const s of this.out.values()) at = Math.min(at, outboundWakeMs(s, this.cfg, lastSeq));
    if (at === Infinity || (this.timer !== undefined && this.timerAtMs <= at)) return;
    clearTimeout(this.timer);
    this.timerAtMs = at;
    this.timer = setTimeout(this.pump, Math.max(0, at - this.o.now()));
  }

  private stepOut(dest: string, input: OutboundInput): void {
    const s = this.out.get(dest);
    assert(s !== undefined, `an outbound stream to ${dest}`);
    const r = stepOutbound(s, input, this.cfg);
    this.out.set(dest, r.state);
    for (const e of r.effects) this.runOut(dest, e, input.nowMs);
  }

  private runOut(dest: string, e: OutboundEffect, nowMs: number): void {
    switch (e.kind) {
      case 'persist_ack':
        this.o.store.setOutboundAck(dest, e.acked);
        return;
      case 'send': {
        // Sends come only from a tick, which checked the log still starts at or before
        // firstSeq, and truncation runs after the ticks: the range is all there.
        const entries: LoggedChange[] = e.lastSeq >= e.firstSeq ? this.o.store.changesAfter(e.firstSeq - 1, e.lastSeq - e.firstSeq + 1) : [];
        assert(coversRange(entries, e.firstSeq, e.lastSeq), 'the log holds a batch being cut');
        const batch = cutBatch({ source: this.o.region, dest, id: e.id, firstSeq: e.firstSeq, lastSeq: e.lastSeq, logLastSeq: this.o.store.lastSeq(), nowMs }, entries, this.o.mayStoreAt);
        this.track(this.sendBatch(dest, batch));
        return;
      }
      case 'snapshot':
        this.track(this.snapshot(dest));
        return;
      default:
        return unreachable(e);
    }
  }

  private async sendBatch(dest: string, batch: BatchMessage): Promise<void> {
    let input: OutboundInput;
    try {
      const reply = await callPeer(this.o.mesh, dest, '/replication/batch', new RawJson(batchJson(batch)), batchReplyBody, this.cfg.retryMs);
      input = { kind: 'reply', nowMs: this.o.now(), id: batch.id, reply };
    } catch (e) {
      this.o.logger.debug({ dest, firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, err: (e as Error).message }, 'replication: batch not delivered');
      input = { kind: 'failed', nowMs: this.o.now(), id: batch.id };
    }
    if (!this.running) return;
    this.stepOut(dest, input);
    this.schedule();
  }

  private async snapshot(dest: string): Promise<void> {
    this.o.logger.info({ dest, acked: this.out.get(dest)?.acked, firstSeq: this.o.store.firstSeq() }, 'replication: destination is behind the log, sending a snapshot');
    let input: OutboundInput;
    try {
      const r = await sendSnapshot({
        store: this.o.store,
        mesh: this.o.mesh,
        dest,
        mayStoreAt: this.o.mayStoreAt,
        pageSize: this.cfg.snapshotPageSize,
        timeoutMs: bulkTimeoutMs,
        nowMs: this.o.now,
        stopped: () => !this.running,
      });
      this.o.logger.info({ dest, seq: r.seq, pages: r.pages }, 'replication: snapshot sent');
      input = { kind: 'snapshot_done', nowMs: this.o.now(), seq: r.seq };
    } catch (e) {
      this.o.logger.warn({ dest, err: (e as Error).message }, 'replication: snapshot failed; will retry');
      input = { kind: 'snapshot_failed', nowMs: this.o.now() };
    }
    if (!this.running) return;
    this.stepOut(dest, input);
    this.schedule();
  }

  private track(p: Promise<unknown>): void {
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p));
  }

  // ---- anti-entropy

  private startAntiEntropy(): void {
    if (!this.running || this.aeRunning) return;
    this.track(this.antiEntropyRound());
  }

  private async antiEntropyRound(force = false): Promise<void> {
    const peer = this.o.peers[this.aeNext++ % Math.max(1, this.o.peers.length)];
    if (peer === undefined || this.aeRunning) return;
    // While the stream to a peer is busy, the digests differ by what it is delivering
    // anyway, and a round would list and "repair" it all (bench/data: 1-3 s stalls). Such
    // rounds are skipped — but never more than four in a row, so a busy link is still
    // checked now and then.
    const st = this.out.get(peer);
    // Busy either way: our stream to the peer has unacknowledged changes, or the peer's
    // stream into us brought changes within the last two seconds (bench/data: a peer's
    // round against a source still streaming listed its whole table, ~60-85 MB of heap).
    const busyOut = st !== undefined && this.o.store.lastSeq() > st.acked;
    const busyIn = this.o.now() - (this.changesArrivedMs.get(peer) ?? -Infinity) < 2000;
    if (!force && (busyOut || busyIn) && this.aeSkipped < 4) {
      this.aeSkipped++;
      return;
    }
    this.aeSkipped = 0;
    this.aeRunning = true;
    try {
      const r = await repairRound(this.repairSide, this.o.mesh, peer, bulkTimeoutMs, this.o.now);
      this.aeRounds++;
      this.aeRepaired += r.repaired;
      this.noteConflicts(r.conflicts);
      if (r.repaired > 0) this.o.logger.info({ peer, repaired: r.repaired }, 'replication: anti-entropy repaired differences');
    } catch (e) {
      this.o.logger.debug({ peer, err: (e as Error).message }, 'replication: anti-entropy round failed');
    } finally {
      this.aeRunning = false;
    }
  }

  // ---- inbound

  /**
   * Answers a mesh request under /replication/. The caller has verified the mesh signature;
   * `from` is the region it names. Returns false for any other path (not handled).
   */
  async handle(req: IncomingMessage, res: ServerResponse, path: string, from: string): Promise<boolean> {
    const url = path.split('?')[0] ?? path;
    if (!url.startsWith('/replication/')) return false;
    try {
      if (!this.running) throw new WireError(503, 'not_running', `replication at ${this.o.region} is not running`);
      if (!this.o.peers.includes(from)) throw new WireError(403, 'not_a_peer', `${from} does not replicate with ${this.o.region}`);
      if (req.method !== 'POST') throw new WireError(405, 'method_not_allowed', `replication endpoints take POST, not ${req.method ?? '?'}`);
      sendJson(res, 200, await this.answer(url, req, from));
    } catch (e) {
      if (e instanceof WireError) sendJson(res, e.status, { error: e.code, reason: e.message, region: this.o.region });
      else {
        this.o.logger.error({ from, path: url, err: (e as Error).message }, 'replication: request failed');
        sendJson(res, 500, { error: 'internal', reason: (e as Error).message, region: this.o.region });
      }
    }
    return true;
  }

  private async answer(url: string, req: IncomingMessage, from: string): Promise<unknown> {
    const nowMs = (): number => this.o.now();
    switch (url) {
      case '/replication/batch': {
        const batch = await readJson(req, batchBody);
        if (batch.source !== from) throw new WireError(403, 'wrong_source', `a batch from ${from} names ${batch.source} as its source`);
        if (batch.lastSeq < batch.firstSeq - 1) throw new WireError(400, 'bad_range', `batch range ${batch.firstSeq}..${batch.lastSeq} is not a range`);
        // The state machine asserts these; from the wire they are the sender's mistake.
        let prev = batch.firstSeq - 1;
        for (const c of batch.changes) {
          if (c.seq <= prev || c.seq > batch.lastSeq) throw new WireError(400, 'bad_range', `change seq ${c.seq} is out of order or outside ${batch.firstSeq}..${batch.lastSeq}`);
          prev = c.seq;
        }
        const reply = await this.receive(from, batch);
        if (reply === 'refused') throw new WireError(503, 'not_applied', 'the batch could not be applied here; send it again');
        return reply;
      }
      case '/replication/digest':
        await readJson(req, empty);
        return answerDigest(this.repairSide, from);
      case '/replication/buckets':
        return answerBuckets(this.repairSide, from, (await readJson(req, bucketsBody)).buckets);
      case '/replication/changes':
        return answerChanges(this.repairSide, from, (await readJson(req, entriesBody)).entries);
      case '/replication/repair':
      case '/replication/snapshot/page': {
        const { changes } = await readJson(req, changesBody);
        const out = this.o.store.apply(changes, nowMs());
        // On disk before the sender counts it delivered (a snapshot page, a repair).
        await this.o.store.sync();
        this.noteConflicts(out.conflicts);
        if (out.refused > 0) this.o.logger.error({ from, refused: out.refused }, 'replication: a peer sent changes this region may not store; refused');
        return { applied: out.applied };
      }
      case '/replication/snapshot/done': {
        const done = await readJson(req, snapshotDoneBody);
        this.stepIn(from, { kind: 'restored', nowMs: nowMs(), seq: done.seq, sourceMs: done.sourceMs });
        return { applied: this.in.get(from)?.applied ?? 0 };
      }
      default:
        throw new WireError(404, 'not_found', `no replication endpoint ${url}`);
    }
  }

  private receive(source: string, batch: BatchMessage): Promise<BatchReply | 'refused'> {
    if (batch.changes.length > 0) this.changesArrivedMs.set(source, this.o.now());
    const key = `${source}\0${batch.id}`;
    if (this.waiting.has(key)) throw new WireError(409, 'duplicate_id', `batch ${batch.id} from ${source} is already waiting here`);
    return new Promise((resolve) => {
      this.waiting.set(key, resolve);
      this.stepIn(source, { kind: 'batch', nowMs: this.o.now(), batch });
    });
  }

  private stepIn(source: string, first: InboundInput): void {
    // A queue, not recursion: an apply's outcome is the next input, and it can release
    // parked batches whose applies follow.
    const inputs: InboundInput[] = [first];
    for (let input = inputs.shift(); input !== undefined; input = inputs.shift()) {
      const s = this.in.get(source);
      assert(s !== undefined, `an inbound stream from ${source}`);
      const r = stepInbound(s, input, this.inLimits);
      this.in.set(source, r.state);
      for (const e of r.effects) {
        const next = this.runIn(source, e);
        if (next !== undefined) inputs.push(next);
      }
    }
  }

  private runIn(source: string, e: InboundEffect): InboundInput | undefined {
    switch (e.kind) {
      case 'apply': {
        const nowMs = this.o.now();
        try {
          const out = this.o.store.apply(e.changes, nowMs, { source, applied: e.watermark.applied, sourceMs: e.watermark.sourceMs });
          if (out.refused > 0) this.o.logger.error({ source, refused: out.refused }, 'replication: a batch held changes this region may not store; refused');
          this.noteApplied(source, e.changes, nowMs);
          this.noteConflicts(out.conflicts);
          return { kind: 'applied', nowMs, ok: true };
        } catch (err) {
          this.o.logger.warn({ source, err: (err as Error).message }, 'replication: batch not applied');
          return { kind: 'applied', nowMs, ok: false };
        }
      }
      case 'persist':
        this.o.store.setInbound(source, e.applied, e.sourceMs);
        return undefined;
      case 'reply':
      case 'refuse': {
        const key = `${source}\0${e.id}`;
        const answer = this.waiting.get(key);
        this.waiting.delete(key);
        answer?.(e.kind === 'reply' ? e.reply : 'refused');
        return undefined;
      }
      case 'wake': {
        const t = setTimeout(() => {
          this.inboundTimers.delete(t);
          if (this.running) this.stepIn(source, { kind: 'tick', nowMs: this.o.now() });
        }, Math.max(0, e.atMs - this.o.now()));
        this.inboundTimers.add(t);
        return undefined;
      }
      default:
        return unreachable(e);
    }
  }

  /** Lag is apply time here minus commit time at the source: two machines' clocks, so it
   *  carries their offset (in tests and the local world, one machine and one clock). */
  private noteApplied(source: string, changes: readonly LoggedChange[], nowMs: number): void {
    if (changes.length === 0) return;
    let w = this.lag.get(source);
    if (w === undefined) this.lag.set(source, (w = new LagWindow()));
    let worst = 0;
    for (const c of changes) {
      const lagMs = Math.max(0, nowMs - c.committedMs);
      w.add(lagMs);
      worst = Math.max(worst, lagMs);
    }
    this.appliedCount.set(source, (this.appliedCount.get(source) ?? 0) + changes.length);
    this.o.onApplied?.(source, worst, changes.length);
  }

  private noteConflicts(cs: readonly ResolvedConflict[]): void {
    for (const c of cs) {
      this.conflictsTotal++;
      this.conflictSample.push(c);
      if (this.conflictSample.length > conflictSampleSize) this.conflictSample.shift();
      this.o.onConflict?.(c);
    }
  }
}
