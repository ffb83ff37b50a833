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
import { MemoryStore, type Disk } from './memory-store.js';
import type { ClientReply, ClientRequest, RegionActor, RegionEffect, RegionInput, StrongOp, WireMessage } from './protocol.js';
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
}

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

  constructor(private readonly o: RegionOptions) {
    this.id = o.id;
    this.incarnation = o.incarnation;
    this.store = new MemoryStore(o.id, o.disk, (t, h) => o.residency.mayStoreAt(o.id, t, h), o.maxClockOffsetMs);
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
  }

  private localMs(worldMs: number): number {
    return worldMs + this.o.skewMs();
  }

  step(input: RegionInput): RegionEffect[] {
    this.effects = [];
    const nowMs = this.localMs(input.nowMs);
    switch (input.kind) {
      case 'tick':
        this.tick(nowMs);
        break;
      case 'message':
        this.receive(nowMs, input.from, input.fromIncarnation, input.message);
        break;
      case 'timeout': {
        const k = `${input.dest}\0${input.request}\0${input.id}`;
        if (this.pending.delete(k)) {
          if (input.request === 'batch') this.stepOut(input.dest, { kind: 'failed', nowMs, id: input.id });
          else this.stepOut(input.dest, { kind: 'snapshot_failed', nowMs });
        }
        break;
      }
      case 'client':
        this.effects.push({ kind: 'client_reply', requestId: input.requestId, reply: this.serve(nowMs, input.request) });
        break;
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
        // Without leadership the home region is the partition's only writer; the
        // leadership core will decide this instead (README.md).
        if (r.home !== this.id) return { kind: 'refused', reason: `${this.id} is not the writer of ${r.home}'s rows` };
        return this.strong(nowMs, r.table, r.home, r.op);
      default:
        return unreachable(r);
    }
  }

  private strong(nowMs: number, table: string, home: string, op: StrongOp): ClientReply {
    const cur = this.store.get(table, op.key);
    const value = cur?.value ?? null;
    switch (op.kind) {
      case 'read':
        return { kind: 'strong', output: value, version: cur?.version ?? null };
      case 'write':
        return { kind: 'strong', output: 'ok', version: this.store.put(table, op.key, op.value, home, nowMs).version };
      case 'cas':
        if (value !== op.expected) return { kind: 'strong', output: 'fail', version: cur?.version ?? null };
        return { kind: 'strong', output: 'ok', version: this.store.put(table, op.key, op.value, home, nowMs).version };
      default:
        return unreachable(op);
    }
  }

  // ---- outbound

  private tick(nowMs: number): void {
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
    switch (m.kind) {
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
          if (!(e instanceof ClockOffsetError)) throw e;
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
          if (!(err instanceof ClockOffsetError)) throw err;
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
