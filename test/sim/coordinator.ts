// The simulated coordinator: one actor outside every region (DESIGN §5: etcd spread over
// regions, or the embedded one in the world's supervisor). Its semantics are those of
// src/coord/leader.ts over a Coordinator: leases with a TTL on the coordinator's own
// clock, `leader/<partition>` bound to the taker's lease and put by compare-and-set only
// when absent, an epoch record that only grows, watch events on every change of a leader
// key (an expiry included). A take is refused to a region that is not eligible
// (takeLeadership's rule, `mayTake`: another region was granted an epoch after the one the
// taker led and has not reconciled) — unless `ignoreEligibility` (a mutant: any region takes).
//
// Time is the world's true time: a lease granted (or kept alive) at t expires at t + TTL,
// whatever the regions' clocks say — which is exactly the hazard lease safety is about.
// `leaseAt` answers the invariant "a region passing mayServe holds the lease now".

import { mayTake } from '../../src/coord/index.js';
import type { LeaderRecord } from '../../src/replication/index.js';
import type { CoordOp, CoordResult } from './protocol.js';

interface Lease {
  readonly holder: string;
  expiresAtMs: number;
}

interface LeaderKey {
  readonly region: string;
  readonly epoch: number;
  readonly lease: number;
}

export interface CoordChange {
  readonly partition: string;
  readonly holder: LeaderRecord | null;
  readonly revision: number;
}

export class SimCoordinator {
  private readonly leases = new Map<number, Lease>();
  private readonly leaders = new Map<string, LeaderKey>();
  /** epoch/<partition>: the highest epoch granted, and to whom. */
  private readonly epochs = new Map<string, LeaderRecord>();
  /** sync/<partition>: the synchronous follower the leaders recorded. */
  private readonly syncFollowers = new Map<string, string>();
  private nextLease = 1;
  revision = 0;
  /** Paused (a coordinator outage): requests go unanswered; leases keep their deadlines. */
  pausedUntilMs = 0;

  constructor(
    private readonly leaseTtlMs: number,
    private readonly ignoreEligibility = false,
  ) {}

  /** Drops what expired by `nowMs`: the leader keys bound to expired leases go with them. */
  expire(nowMs: number): CoordChange[] {
    const out: CoordChange[] = [];
    for (const [id, l] of this.leases) {
      if (l.expiresAtMs > nowMs) continue;
      this.leases.delete(id);
      for (const [p, k] of this.leaders) {
        if (k.lease !== id) continue;
        this.leaders.delete(p);
        out.push({ partition: p, holder: null, revision: ++this.revision });
      }
    }
    return out;
  }

  holder(partition: string): LeaderRecord | null {
    const k = this.leaders.get(partition);
    return k === undefined ? null : { region: k.region, epoch: k.epoch };
  }

  /** Does `region` hold the partition under `epoch` with a lease alive at `nowMs` (true time)? */
  leaseAt(partition: string, region: string, epoch: number, nowMs: number): boolean {
    const k = this.leaders.get(partition);
    if (k === undefined || k.region !== region || k.epoch !== epoch) return false;
    const l = this.leases.get(k.lease);
    return l !== undefined && l.expiresAtMs > nowMs;
  }

  handle(from: string, partition: string, op: CoordOp, nowMs: number): { result: CoordResult; changes: CoordChange[] } {
    const changes = this.expire(nowMs);
    switch (op.kind) {
      case 'take': {
        const held = this.holder(partition);
        if (held !== null) return { result: { kind: 'refused', holder: held, revision: this.revision }, changes };
        const last = this.epochs.get(partition);
        if (last !== undefined && !this.ignoreEligibility && !mayTake(from, op.led, last)) return { result: { kind: 'ineligible', last }, changes };
        // takeLeadership: the next epoch after the record, at least what the taker has seen.
        const epoch = Math.max((last?.epoch ?? 0) + 1, op.minEpoch);
        const lease = this.nextLease++;
        this.leases.set(lease, { holder: from, expiresAtMs: nowMs + this.leaseTtlMs });
        this.leaders.set(partition, { region: from, epoch, lease });
        this.epochs.set(partition, { region: from, epoch });
        changes.push({ partition, holder: { region: from, epoch }, revision: ++this.revision });
        return { result: { kind: 'taken', epoch, lease }, changes };
      }
      case 'renew': {
        const l = this.leases.get(op.lease);
        if (l === undefined) return { result: { kind: 'refused', holder: this.holder(partition), revision: this.revision }, changes };
        l.expiresAtMs = nowMs + this.leaseTtlMs;
        return { result: { kind: 'renewed' }, changes };
      }
      case 'release': {
        const k = this.leaders.get(partition);
        if (k !== undefined && k.region === from && k.epoch === op.epoch) {
          this.leaders.delete(partition);
          changes.push({ partition, holder: null, revision: ++this.revision });
        }
        this.leases.delete(op.lease);
        return { result: { kind: 'released' }, changes };
      }
      case 'read':
        return { result: { kind: 'read', holder: this.holder(partition), revision: this.revision }, changes };
      case 'sync_put':
        this.syncFollowers.set(partition, op.region);
        return { result: { kind: 'sync_recorded' }, changes };
      case 'sync_get':
        return { result: { kind: 'sync_is', region: this.syncFollowers.get(partition) ?? null }, changes };
      default: {
        const never: never = op;
        throw new Error(`unhandled coordinator op ${JSON.stringify(never)}`);
      }
    }
  }
}
