// Leadership records over any Coordinator: the moves a home partition's leadership
// machine (src/replication/leadership.ts) asks for, as coordinator calls.
//
//   leader/<partition>  {region, epoch}  bound to the leader's lease: gone when it expires
//   epoch/<partition>   {epoch, region}  never expires: the highest epoch ever granted, and
//                                        to whom
//
// A take writes both in one commit that requires the leader key absent and the epoch
// record unchanged since read, so epochs only grow and no two holders share one — even
// when a slow candidate read an old epoch before another took and lost the lease.
//
// Only an eligible region may take: one with no rows of its own left unreconciled that a
// later leader could have overwritten. The taker says which epoch it last led and has not
// reconciled (`led`, from its store; null: none). It is eligible when nobody else was
// granted an epoch after that one: the record is older than `led`, or names the taker
// itself (its own take whose answer it never got, under which it wrote nothing). Checked
// in the take's own commit (the epoch record's revision), so no epoch is ever granted to a
// region that would have to give it back — a given-back epoch was still seen by everyone
// as a newer leader's, and blocked the region that really led last (test/sim, finding 8).

import type { CallOptions, Coordinator, LeaseId, Revision, Watch } from './coordinator.js';
import { Compacted, Conflict } from './errors.js';

export interface LeaderRecord {
  readonly region: string;
  readonly epoch: number;
}

export const leaderKey = (partition: string): string => `leader/${partition}`;
export const epochKey = (partition: string): string => `epoch/${partition}`;

export type TakeResult =
  | { readonly ok: true; readonly epoch: number; readonly revision: Revision }
  | { readonly ok: false; readonly holder: LeaderRecord | null }
  /** The key is free, but `last` (another region) was granted an epoch after the one this
   *  region led: reconcile with the next leader first. */
  | { readonly ok: false; readonly holder: null; readonly ineligible: LeaderRecord };

/** Races lost in a row before a take gives up and reports the holder it last saw. */
const maxTakeAttempts = 3;

/**
 * Takes `leader/<partition>` for `region`, bound to `lease`, if nobody holds it, with the
 * next epoch (at least `minEpoch`: the highest this region has seen). Conflict-free
 * failure is a value; CoordUnavailable and LeaseExpired are thrown.
 *
 * The new leader's validity counts from when it sent the grant or keep-alive that last
 * extended `lease`, not from the take: an old lease may be close to its end. (The
 * property test in test/coord/core.test.ts found exactly that schedule.)
 */
export async function takeLeadership(c: Coordinator, t: { partition: string; region: string; lease: LeaseId; led: number | null; minEpoch?: number }, o?: CallOptions): Promise<TakeResult> {
  let holder: LeaderRecord | null = null;
  for (let attempt = 0; attempt < maxTakeAttempts; attempt++) {
    const [leader, epochRec] = await Promise.all([c.get(leaderKey(t.partition), o), c.get(epochKey(t.partition), o)]);
    holder = leader === null ? null : parseLeader(leader.value);
    if (leader !== null) return { ok: false, holder };
    const last = epochRec === null ? null : parseEpoch(epochRec.value);
    if (last !== null && !mayTake(t.region, t.led, last)) return { ok: false, holder: null, ineligible: { region: last.region ?? '(unknown)', epoch: last.epoch } };
    const epoch = Math.max((last?.epoch ?? 0) + 1, t.minEpoch ?? 0);
    try {
      const revision = await c.commit({
        checks: [
          { key: leaderKey(t.partition), expect: { kind: 'absent' } },
          { key: epochKey(t.partition), expect: epochRec === null ? { kind: 'absent' } : { kind: 'revision', modRevision: epochRec.modRevision } },
        ],
        puts: [
          { key: leaderKey(t.partition), value: JSON.stringify({ region: t.region, epoch } satisfies LeaderRecord), lease: t.lease },
          { key: epochKey(t.partition), value: JSON.stringify({ epoch, region: t.region }) },
        ],
        deletes: [],
      }, o);
      return { ok: true, epoch, revision };
    } catch (e) {
      if (!(e instanceof Conflict)) throw e;
    }
  }
  return { ok: false, holder };
}

/** Who holds the partition now, and the revision to watch from (+1). */
export async function readLeader(c: Coordinator, partition: string, o?: CallOptions): Promise<{ holder: LeaderRecord | null; revision: Revision }> {
  const l = await c.list(leaderKey(partition), o);
  const rec = l.records.find((r) => r.key === leaderKey(partition));
  return { holder: rec === undefined ? null : parseLeader(rec.value), revision: l.revision };
}

/** Gives the partition up at once (a clean stop or a failback): deletes the key only if it
 *  is still this region's at `epoch`, then ends the lease. */
export async function releaseLeadership(c: Coordinator, t: { partition: string; region: string; epoch: number; lease: LeaseId }, o?: CallOptions): Promise<void> {
  const rec = await c.get(leaderKey(t.partition), o);
  const mine = rec !== null && sameLeader(parseLeader(rec.value), { region: t.region, epoch: t.epoch });
  if (rec !== null && mine) {
    try {
      await c.commit({ checks: [{ key: rec.key, expect: { kind: 'revision', modRevision: rec.modRevision } }], puts: [], deletes: [rec.key] }, o);
    } catch (e) {
      if (!(e instanceof Conflict)) throw e; // someone else's now: nothing of ours to delete
    }
  }
  await c.revokeLease(t.lease, o);
}

/**
 * Calls `onChange` with the holder now and on every change (null: no leader). Survives
 * compaction by reading again; ends only when cancelled or the coordinator is closed.
 */
export async function watchLeader(c: Coordinator, partition: string, onChange: (holder: LeaderRecord | null, revision: Revision) => void, o?: CallOptions): Promise<Watch> {
  let current: Watch | undefined;
  let cancelled = false;
  const start = async (): Promise<void> => {
    const now = await readLeader(c, partition, o);
    if (cancelled) return;
    onChange(now.holder, now.revision);
    current = await c.watch(leaderKey(partition), {
      fromRevision: now.revision + 1,
      onEvent: (e) => {
        if ((e.kind === 'put' ? e.record.key : e.key) !== leaderKey(partition)) return; // leader/p1 also prefixes leader/p10
        onChange(e.kind === 'put' ? parseLeader(e.record.value) : null, e.revision);
      },
      onEnd: (err) => {
        if (!cancelled && err instanceof Compacted) void start().catch(() => undefined);
      },
    });
  };
  await start();
  return {
    cancel: async () => {
      cancelled = true;
      await current?.cancel();
    },
  };
}

export function parseLeader(text: string): LeaderRecord | null {
  try {
    const v = JSON.parse(text) as Partial<LeaderRecord>;
    return typeof v.region === 'string' && Number.isInteger(v.epoch) ? { region: v.region, epoch: v.epoch as number } : null;
  } catch {
    return null;
  }
}

/** Is `region`, which last led `led` (null: nothing unreconciled), eligible to take after
 *  the epoch record `last`? (A record without a region, as written before it named one,
 *  counts as another region's.) */
export function mayTake(region: string, led: number | null, last: { epoch: number; region?: string }): boolean {
  return led === null || last.epoch <= led || last.region === region;
}

function parseEpoch(text: string): { epoch: number; region?: string } {
  try {
    const v = JSON.parse(text) as { epoch?: unknown; region?: unknown };
    const epoch = typeof v.epoch === 'number' && Number.isInteger(v.epoch) && v.epoch >= 0 ? v.epoch : 0;
    return typeof v.region === 'string' ? { epoch, region: v.region } : { epoch };
  } catch {
    return { epoch: 0 };
  }
}

function sameLeader(a: LeaderRecord | null, b: LeaderRecord): boolean {
  return a !== null && a.region === b.region && a.epoch === b.epoch;
}
