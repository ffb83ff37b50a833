// What a simulated region takes in and gives out. The world (world.ts) is the only caller:
// it delivers inputs in seeded order and carries out effects (messages through the
// simulated network, timers through the scheduler, answers to clients).
//
// A leadership or failover core plugs in by adding its messages to `WireMessage`, its
// client operations to `ClientRequest` and its inputs (lease grants, expiries) to
// `RegionInput`; see README.md.

import type { BatchMessage, BatchReply } from '../../src/replication/messages.js';
import type { LeaderRecord } from '../../src/replication/index.js';
import type { Change, DigestEntry, LoggedChange } from '../../src/store/index.js';
import type { EntryRef } from '../../src/replication/messages.js';
import type { Hlc } from '../../src/lib/index.js';
import type { RegisterValue } from '../../src/world/index.js';

export type WireMessage =
  | { readonly kind: 'batch'; readonly batch: BatchMessage }
  | { readonly kind: 'batch_reply'; readonly id: number; readonly reply: BatchReply | 'refused' }
  /** A whole snapshot in one message (the shell sends pages, then "done"). */
  | { readonly kind: 'snapshot'; readonly id: number; readonly changes: readonly Change[]; readonly seq: number; readonly sourceMs: number }
  | { readonly kind: 'snapshot_reply'; readonly id: number; readonly ok: boolean }
  // ---- leadership (a region and the coordinator, whose address is `coordinatorId`)
  | { readonly kind: 'coord'; readonly id: number; readonly partition: string; readonly op: CoordOp }
  | { readonly kind: 'coord_reply'; readonly id: number; readonly partition: string; readonly result: CoordResult }
  /** A watch event, or the answer to a read: the leader key at the coordinator's revision. */
  | { readonly kind: 'watch'; readonly partition: string; readonly holder: LeaderRecord | null; readonly revision: number }
  // ---- between regions: survive: region sync pushes, catch-up / reconcile pulls, forwarding
  | { readonly kind: 'sync'; readonly id: number; readonly partition: string; readonly epoch: number; readonly changes: readonly Change[] }
  | { readonly kind: 'sync_reply'; readonly id: number; readonly ok: boolean; readonly reason: string }
  /** `leaderEpoch`: a reconcile's pull, answered only by a region that caught up as the
   *  partition's leader under that epoch or a later one (it may have failed back since). */
  | { readonly kind: 'pull'; readonly id: number; readonly partition: string; readonly leaderEpoch?: number }
  /** rows null: refused (a reconcile's pull at a region that has not caught up as the leader). */
  | { readonly kind: 'pull_reply'; readonly id: number; readonly rows: readonly Change[] | null }
  | { readonly kind: 'forward'; readonly id: number; readonly request: ClientRequest }
  | { readonly kind: 'forward_reply'; readonly id: number; readonly reply: ClientReply }
  // ---- anti-entropy (src/replication/repair.ts): list the entries of the classes both may
  // hold, then pull the ones the peer holds newer (or alone) and push the ones held newer here
  | { readonly kind: 'ae_list'; readonly id: number }
  | { readonly kind: 'ae_list_reply'; readonly id: number; readonly classes: readonly AeClass[] }
  | { readonly kind: 'ae_get'; readonly id: number; readonly entries: readonly EntryRef[] }
  | { readonly kind: 'ae_get_reply'; readonly id: number; readonly changes: readonly Change[] }
  | { readonly kind: 'ae_repair'; readonly id: number; readonly changes: readonly Change[] }
  /** `applied` null: the store refused the repair (PartitionUnreconciled, clock offset). */
  | { readonly kind: 'ae_repair_reply'; readonly id: number; readonly applied: number | null }
  | { readonly kind: 'ping' }
  | { readonly kind: 'pong' };

/** One anti-entropy class as listed: every entry (the shell lists only differing buckets). */
export interface AeClass {
  readonly table: string;
  readonly home: string | null;
  readonly counter: boolean;
  readonly entries: readonly DigestEntry[];
}

/** The coordinator's address on the simulated network: it lives outside every region. */
export const coordinatorId = 'coordinator';

export type CoordOp =
  /** Grant a lease and put leader/<partition> bound to it with the next epoch (>= minEpoch),
   *  if free and the taker is eligible (`led`: the epoch its store says it led and has not
   *  reconciled; takeLeadership's rule). */
  | { readonly kind: 'take'; readonly minEpoch: number; readonly led: number | null }
  | { readonly kind: 'renew'; readonly lease: number }
  | { readonly kind: 'release'; readonly lease: number; readonly epoch: number }
  | { readonly kind: 'read' }
  /** recordSyncFollower: put sync/<partition> = region (no checks, as leaders.ts commits it). */
  | { readonly kind: 'sync_put'; readonly region: string }
  /** A new leader's catch-up: get sync/<partition>. */
  | { readonly kind: 'sync_get' };

export type CoordResult =
  | { readonly kind: 'taken'; readonly epoch: number; readonly lease: number }
  /** The key is free, but `last` (another region) was granted an epoch after the taker's led. */
  | { readonly kind: 'ineligible'; readonly last: LeaderRecord }
  | { readonly kind: 'renewed' }
  /** A take found the key held, or a renewal found the lease gone: who holds it now. */
  | { readonly kind: 'refused'; readonly holder: LeaderRecord | null; readonly revision: number }
  | { readonly kind: 'released' }
  | { readonly kind: 'read'; readonly holder: LeaderRecord | null; readonly revision: number }
  | { readonly kind: 'sync_recorded' }
  | { readonly kind: 'sync_is'; readonly region: string | null };

export type ClientRequest =
  | { readonly kind: 'put'; readonly table: string; readonly key: string; readonly value: string }
  | { readonly kind: 'increment'; readonly table: string; readonly key: string; readonly by: number }
  /** A strong operation on a home row, run where the partition's writer is. */
  | { readonly kind: 'strong'; readonly table: string; readonly home: string; readonly op: StrongOp; readonly forwarded?: boolean };

export type StrongOp =
  | { readonly kind: 'read'; readonly key: string }
  | { readonly kind: 'write'; readonly key: string; readonly value: string }
  | { readonly kind: 'cas'; readonly key: string; readonly expected: RegisterValue; readonly value: string };

export type ClientReply =
  | { readonly kind: 'put'; readonly version: Hlc }
  | { readonly kind: 'increment' }
  | { readonly kind: 'strong'; readonly output: RegisterValue | 'ok' | 'fail'; readonly version: Hlc | null }
  /** Refused without effect (this region does not run it): the client knows it failed. */
  | { readonly kind: 'refused'; readonly reason: string }
  /** It may or may not have taken effect (committed but not acknowledged by the sync
   *  follower, or a forward that timed out): the client cannot tell. */
  | { readonly kind: 'unknown'; readonly reason: string };

export type RegionInput =
  | { readonly kind: 'tick'; readonly nowMs: number }
  /** `fromIncarnation`: which life of the sender sent it (a reply goes back to that one). */
  | { readonly kind: 'message'; readonly nowMs: number; readonly from: string; readonly fromIncarnation: number; readonly message: WireMessage }
  | { readonly kind: 'timeout'; readonly nowMs: number; readonly dest: string; readonly request: TimedRequest; readonly id: number }
  | { readonly kind: 'client'; readonly nowMs: number; readonly requestId: number; readonly request: ClientRequest };

/** 'retake': not a request but leaders.ts's setTimeout before a take is tried again (a
 *  take the coordinator found ineligible): `dest` is the partition. */
export type TimedRequest = 'batch' | 'snapshot' | 'coord' | 'sync' | 'pull' | 'forward' | 'ae' | 'retake';

export type RegionEffect =
  /** `toIncarnation`: a reply, for that life of the destination only (it travels on the
   *  request's connection, which dies with the process); null for a request. */
  | { readonly kind: 'send'; readonly to: string; readonly toIncarnation: number | null; readonly message: WireMessage }
  /** Feed `input` back to this life of this region after `afterMs` (of its own time). */
  | { readonly kind: 'timer'; readonly afterMs: number; readonly input: RegionInput }
  | { readonly kind: 'client_reply'; readonly requestId: number; readonly reply: ClientReply }
  /** Ghost: a home-row write this region committed as leader (for the end-of-run check
   *  that every write a failover dropped is listed in lost writes). Changes nothing. */
  | { readonly kind: 'committed'; readonly change: LoggedChange; readonly epoch: number }
  /** Ghost: this region accepted a write of `partition` under `epoch` (lease safety). */
  | { readonly kind: 'accepted'; readonly partition: string; readonly epoch: number }
  /** Ghost: a new leader served after a catch-up that did not hear from every other
   *  candidate (statistics only: the recorded synchronous follower is required, the
   *  others best effort; README: findings #3). */
  | { readonly kind: 'incomplete_catch_up'; readonly partition: string; readonly epoch: number }
  /** Ghost: an anti-entropy round with `peer` started, or ended having found nothing to
   *  repair (`clean`) — the world's quiet check after the heal. */
  | { readonly kind: 'ae_round'; readonly peer: string; readonly round: number; readonly phase: 'start' | 'clean' | 'end' };

/** A simulated region: everything it does happens in step(), nothing else is async. */
export interface RegionActor {
  readonly id: string;
  /** Which life this is: 0 at the start, +1 on each restart. */
  readonly incarnation: number;
  step(input: RegionInput): RegionEffect[];
}
