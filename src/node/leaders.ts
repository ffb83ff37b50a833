// The shell around leadership (src/replication/leadership.ts): one machine per home
// partition this region may lead, fed by the coordinator (watches, takes, keep-alives),
// the health prober and a timer; its effects run against the coordinator, the store and
// replication. Every region also watches every partition's leader key, to know where
// home writes and strong reads go.

import { readLeader, releaseLeadership, takeLeadership, watchLeader, type Coordinator, type LeaseId, type Watch } from '../coord/index.js';
import type { Logger, RegionId } from '../lib/index.js';
export { primaryPartition } from '../data/index.js';
import { caughtUp, initialLeadership, mayServe, reconciled, stepLeadership, type LeaderRecord, type LeadershipConfig, type LeadershipEffect, type LeadershipInput, type LeadershipState, type Replicator } from '../replication/index.js';
import type { StoredRow, Store } from '../store/index.js';

/** The coordinator key naming a partition's synchronous follower. */
export const syncKey = (partition: string): string => `sync/${partition}`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How often a reconcile the leader refused (not caught up yet) is tried again. */
const reconcileRetryMs = 1000;

export interface LeadersOptions {
  readonly region: RegionId;
  /** Home partitions (home regions of home tables) and, for each, its candidate order:
   *  the home, its synchronous follower, the other allowed regions. */
  readonly partitions: ReadonlyMap<string, readonly string[]>;
  readonly coord: Coordinator;
  readonly store: Store;
  readonly replicator: Replicator;
  readonly config: LeadershipConfig;
  readonly isUp: (r: string) => boolean;
  /** The leader's current row (null: none), for a deposed leader's reconciliation; the
   *  leader answers only once it caught up under `leader.epoch` (or a later one). */
  readonly leaderRow: (leader: LeaderRecord, partition: string, table: string, key: string) => Promise<StoredRow | null>;
  /** Tables whose writes were acknowledged at local commit (survive: zone). */
  readonly acknowledgedAtCommit: (table: string) => boolean;
  readonly logger: Logger;
  readonly now: () => number;
  readonly tickMs?: number;
  /** How long after start a region leaves free partitions of other homes alone
   *  (default 3 lease TTLs), so that homes starting a little later lead their own rows. */
  readonly startupGraceMs?: number;
}

interface Partition {
  state: LeadershipState | null;
  holder: LeaderRecord | null;
  lease: LeaseId | null;
  /** One coordinator conversation at a time per partition. */
  busy: boolean;
  /** When a reconcile last started (retried every reconcileRetryMs while it fails). */
  lastReconcileMs?: number;
  /** Seen free during the start-up grace; told to the machine when it ends. */
  freeDuringGrace?: boolean;
  down: Set<string>;
}

export class PartitionLeaders {
  private readonly parts = new Map<string, Partition>();
  private readonly watches: Watch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private graceUntilMs = 0;
  readonly events: { atMs: number; partition: string; what: string }[] = [];

  constructor(private readonly o: LeadersOptions) {
    for (const [p, candidates] of o.partitions) {
      const led = o.store.partitionEpoch(p).led;
      const state = candidates.includes(o.region) ? initialLeadership(p, o.region, candidates, led) : null;
      this.parts.set(p, { state, holder: null, lease: null, busy: false, down: new Set() });
    }
  }

  async start(): Promise<void> {
    this.graceUntilMs = this.o.now() + (this.o.startupGraceMs ?? 3 * this.o.config.leaseTtlMs);
    for (const p of this.parts.keys()) {
      try {
        this.watches.push(await watchLeader(this.o.coord, p, (holder) => this.input(p, { kind: 'observed', holder, nowMs: this.o.now() })));
      } catch (e) {
        this.o.logger.warn({ partition: p, err: (e as Error).message }, 'leadership: cannot watch the leader key yet; retrying on the timer');
      }
    }
    this.timer = setInterval(() => this.tick(), this.o.tickMs ?? 100);
    this.timer.unref();
  }

  /** The partition's leader as last seen (null: none, or not known yet). */
  leaderOf(partition: string): LeaderRecord | null {
    return this.parts.get(partition)?.holder ?? null;
  }

  /** May this region write the partition now, and under which epoch? */
  serving(partition: string): { ok: true; epoch: number } | { ok: false; reason: string } {
    const s = this.parts.get(partition)?.state;
    if (s === null || s === undefined) return { ok: false, reason: `${this.o.region} may not lead ${partition}` };
    return mayServe(s, this.o.now());
  }

  private tick(): void {
    const now = this.o.now();
    for (const [p, part] of this.parts) {
      if (part.state === null) continue;
      for (const r of part.state.candidates) {
        if (r === this.o.region) continue;
        const up = this.o.isUp(r);
        if (up === !part.down.has(r)) continue;
        if (up) part.down.delete(r);
        else part.down.add(r);
        this.input(p, { kind: 'health', region: r, up, nowMs: now });
      }
      const l = part.state.leading;
      const home = part.state.candidates[0];
      // Failback: the home is back and has applied everything this leader committed.
      if (l !== null && l.serving && home !== undefined && home !== this.o.region && this.o.isUp(home) && part.state.homeCaughtUp === null) {
        const out = this.o.replicator.status().outbound[home];
        if (out !== undefined && out.pending === 0) this.input(p, { kind: 'caught-up', region: home, epoch: l.epoch, nowMs: now });
      }
      // A reconcile the leader refused (not caught up yet) is tried again now and then, not
      // only at the next watch event: the leader may stay the same for a long time. Not on
      // every tick: each try reads the leader's rows (test/sim: a try per tick flooded a slow
      // network until leases ran out).
      if (part.holder !== null && now - (part.lastReconcileMs ?? -Infinity) >= reconcileRetryMs) void this.reconcile(p, part, part.holder);
      if (part.freeDuringGrace === true && now >= this.graceUntilMs) {
        part.freeDuringGrace = false;
        if (part.holder === null) this.input(p, { kind: 'observed', holder: null, nowMs: now });
      }
      this.input(p, { kind: 'tick', nowMs: now });
    }
  }

  private input(p: string, input: LeadershipInput): void {
    const part = this.parts.get(p);
    if (part === undefined || this.stopped) return;
    // Start-up grace: regions start one after another, and a home that is still starting
    // looks down. For a while after this node starts, it does not learn that another
    // region's partition is free (so it does not take it); the tick delivers it after.
    if (input.kind === 'observed' && input.holder === null && part.state !== null && part.state.candidates[0] !== this.o.region && this.o.now() < this.graceUntilMs) {
      part.holder = null;
      part.freeDuringGrace = true;
      return;
    }
    if (input.kind === 'observed' || input.kind === 'refused') {
      part.holder = input.holder;
      if (input.holder !== null) {
        this.o.store.raiseEpoch(p, input.holder.epoch);
        // Whatever the machine remembers (a restart, a failback, a lease seen free in
        // between): if the store says this region led an older epoch than the leader's,
        // it reconciles with that leader before it takes that partition's changes again.
        void this.reconcile(p, part, input.holder);
      }
    }
    if (part.state === null) return;
    const r = stepLeadership(part.state, input, this.o.config);
    part.state = r.state;
    for (const e of r.effects) this.run(p, part, e);
  }

  private note(p: string, what: string): void {
    this.events.push({ atMs: this.o.now(), partition: p, what });
    if (this.events.length > 100) this.events.shift();
    this.o.logger.warn({ partition: p }, `leadership: ${what}`);
  }

  private run(p: string, part: Partition, e: LeadershipEffect): void {
    const c = this.o.coord;
    const now = this.o.now;
    switch (e.kind) {
      case 'take': {
        // The coordinator decides whether this region may take (takeLeadership: eligible
        // only if nobody else was granted an epoch after the one it last led and has not
        // reconciled — its rows would be buried unlisted otherwise, test/sim finding 7).
        const led = this.o.store.partitionEpoch(p).led;
        void (async () => {
          const sentAtMs = now();
          try {
            const lease = await c.grantLease(this.o.config.leaseTtlMs);
            const t = await takeLeadership(c, { partition: p, region: this.o.region, lease: lease.id, led, minEpoch: e.epoch });
            if (t.ok) {
              part.lease = lease.id;
              // Another leader may have recorded another follower since: record ours anew.
              this.syncFollowers.delete(p);
              // Persist that this region leads under the epoch before it acts on it.
              this.o.store.markLed(p, t.epoch);
              this.input(p, { kind: 'granted', epoch: t.epoch, sentAtMs, nowMs: now() });
              return;
            }
            await c.revokeLease(lease.id).catch(() => undefined);
            if ('ineligible' in t) {
              // It reconciles when the next leader shows; meanwhile ask again now and then
              // (not at once: the machine would ask in the same step, a loop that never yields).
              this.o.store.raiseEpoch(p, t.ineligible.epoch);
              this.note(p, `may not take yet: ${t.ineligible.region} was granted epoch ${t.ineligible.epoch} after epoch ${led ?? 'none'} that this region led and has not reconciled`);
              // Reconcile with the region granted it (if it caught up then): it may have failed
              // back since and left the key free, and no watch event would bring it again.
              void this.reconcile(p, part, t.ineligible);
              setTimeout(() => this.input(p, { kind: 'unavailable', nowMs: now() }), this.o.config.rankDelayMs).unref();
              return;
            }
            this.input(p, { kind: 'refused', holder: t.holder, nowMs: now() });
          } catch {
            this.input(p, { kind: 'unavailable', nowMs: now() });
          }
        })();
        return;
      }
      case 'renew': {
        const lease = part.lease;
        if (lease === null) return;
        void (async () => {
          const sentAtMs = now();
          try {
            await c.keepAlive(lease);
            this.input(p, { kind: 'granted', epoch: e.epoch, sentAtMs, nowMs: now() });
          } catch (err) {
            const gone = (err as Error).name === 'LeaseExpired';
            if (gone) this.input(p, { kind: 'refused', holder: (await readLeader(c, p).catch(() => ({ holder: null }))).holder, nowMs: now() });
            else this.input(p, { kind: 'unavailable', nowMs: now() });
          }
        })();
        return;
      }
      case 'release': {
        const lease = part.lease;
        part.lease = null;
        if (lease !== null) void releaseLeadership(c, { partition: p, region: this.o.region, epoch: e.epoch, lease }).catch(() => undefined);
        this.note(p, `released epoch ${e.epoch}`);
        return;
      }
      case 'catch-up':
        void this.catchUp(p, part, e.epoch);
        return;
      case 'serve':
        this.note(p, `serving as leader, epoch ${e.epoch}`);
        return;
      case 'stop-serving':
        this.note(p, `stopped serving epoch ${e.epoch}: ${e.reason}`);
        return;
      case 'reconcile':
        void this.reconcile(p, part, e.leader);
        return;
    }
  }

  /**
   * Before a new leader serves: every acknowledged survive: region write of the previous
   * epoch is on the synchronous follower recorded in the coordinator (sync/<partition>),
   * so that region must be pulled from, successfully — until then the partition waits
   * (consistency over availability). The other candidates that are up are pulled from
   * too, best effort.
   */
  private async catchUp(p: string, part: Partition, epoch: number): Promise<void> {
    const stillTaking = (): boolean => part.state?.leading?.epoch === epoch && !this.stopped;
    let required: string | null = null;
    for (;;) {
      try {
        const rec = await this.o.coord.get(syncKey(p));
        required = rec === null ? null : rec.value;
        break;
      } catch {
        if (!stillTaking()) return;
        await sleep(200);
      }
    }
    let repaired = 0;
    if (required !== null && required !== this.o.region) {
      for (;;) {
        if (!stillTaking()) return;
        try {
          repaired += await this.o.replicator.repairWith(required, 2000);
          break;
        } catch (err) {
          this.o.logger.warn({ partition: p, from: required, err: (err as Error).message }, 'leadership: cannot catch up from the synchronous follower yet; not serving');
          await sleep(250);
        }
      }
    }
    const others = (part.state?.candidates ?? []).filter((r) => r !== this.o.region && r !== required && this.o.isUp(r));
    for (const peer of others) repaired += await this.o.replicator.repairWith(peer, 2000).catch(() => 0);
    if (part.state === null || !stillTaking()) return;
    const r = caughtUp(part.state, epoch);
    part.state = r.state;
    if (r.effects.length > 0) this.caughtUpEpochs.set(p, Math.max(this.caughtUpEpochs.get(p) ?? 0, epoch));
    for (const x of r.effects) this.run(p, part, x);
    this.note(p, `caught up (${repaired} repaired; synchronous follower ${required ?? 'none recorded'})`);
  }

  /** The newest epoch this node caught up for as the partition's leader (0: none): a
   *  deposed leader reconciles against its rows only from then on, even after a failback. */
  caughtUpFor(partition: string): number {
    return this.caughtUpEpochs.get(partition) ?? 0;
  }

  private readonly caughtUpEpochs = new Map<string, number>();

  /** The synchronous follower the coordinator has for a partition (cached). */
  private readonly syncFollowers = new Map<string, string>();

  /**
   * Makes `region` the partition's recorded synchronous follower before any write is
   * acknowledged with it: the next leader must catch up from exactly that region.
   */
  async recordSyncFollower(p: string, region: string): Promise<void> {
    if (this.syncFollowers.get(p) === region) return;
    await this.o.coord.commit({ checks: [], puts: [{ key: syncKey(p), value: region }], deletes: [] });
    this.syncFollowers.set(p, region);
  }

  /** A deposed leader: what it wrote under its own leads not yet reconciled that the new
   *  leader does not hold is set aside (lost_writes) and replaced by the leader's rows. */
  private async reconcile(p: string, part: Partition, leader: LeaderRecord): Promise<void> {
    const led = this.o.store.partitionEpoch(p).led;
    // Only against another region, and only if this region led an older epoch than it.
    if (part.busy || leader.region === this.o.region || led === null || leader.epoch <= led) return;
    part.busy = true;
    part.lastReconcileMs = this.o.now();
    const epoch = led;
    try {
      const items: { mine: StoredRow; theirs: StoredRow | null; acknowledged: boolean }[] = [];
      // From the rows, not the log: the log may be truncated once peers acknowledged.
      for (const mine of this.o.store.rowsOfOwnLeads(p, epoch)) {
        const theirs = await this.o.leaderRow(leader, p, mine.table, mine.key);
        if (theirs !== null && theirs.version.wall === mine.version.wall && theirs.version.logical === mine.version.logical && theirs.version.region === mine.version.region) continue;
        items.push({ mine, theirs, acknowledged: this.o.acknowledgedAtCommit(mine.table) });
      }
      this.o.store.reconcile(p, epoch, items, this.o.now());
      if (part.state !== null) part.state = reconciled(part.state);
      this.note(p, `reconciled with ${leader.region} (epoch ${leader.epoch}): ${items.length} write(s) of epoch ${epoch} set aside`);
    } catch (err) {
      this.o.logger.warn({ partition: p, leader: leader.region, err: (err as Error).message }, `leadership: reconciliation failed (the leader may not have caught up yet); retrying within ${reconcileRetryMs} ms`);
    } finally {
      part.busy = false;
    }
  }

  status(): Record<string, unknown> {
    const now = this.o.now();
    const out: Record<string, unknown> = {};
    for (const [p, part] of this.parts) {
      const serving = part.state === null ? null : mayServe(part.state, now);
      out[p] = { leader: part.holder, mayLead: part.state !== null, serving: serving?.ok === true ? serving.epoch : false, ...(serving !== null && !serving.ok && { why: serving.reason }), deposedFrom: part.state?.deposedFrom ?? null };
    }
    return { partitions: out, events: this.events.slice(-20) };
  }

  /** A clean stop hands leadership over at once rather than after the lease's TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await Promise.all(this.watches.map((w) => w.cancel().catch(() => undefined)));
    await Promise.all(
      [...this.parts].map(async ([p, part]) => {
        const l = part.state?.leading;
        if (l !== null && l !== undefined && part.lease !== null) await releaseLeadership(this.o.coord, { partition: p, region: this.o.region, epoch: l.epoch, lease: part.lease }, { timeoutMs: 500 }).catch(() => undefined);
      }),
    );
  }
}

