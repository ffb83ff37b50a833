// Leadership records over any Coordinator: the moves a home partition's leadership
// machine (src/replication/leadership.ts) asks for, as coordinator calls.
//
//   leader/<partition>  {region, epoch}  bound to the leader's lease: gone when it expires
//   epoch/<partition>   {epoch}          never expires: the highest epoch ever granted
//
// A take writes both in one commit that requires the leader key absent and the epoch
// record unchanged since read, so epochs only grow and no two holders share one — even
// when a slow candidate read an old epoch before another took and lost the lease.

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
  | { readonly ok: false; readonly holder: LeaderRecord | null };

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
export async function takeLeadership(c: Coordinator, t: { partition: string; region: string; lease: LeaseId; minEpoch?: number }, o?: CallOptions): Promise<TakeResult> {
  let holder: LeaderRecord | null = null;
  for (let attempt = 0; attempt < maxTakeAttempts; attempt++) {
    const [leader, epochRec] = await Promise.all([c.get(leaderKey(t.partition), o), c.get(epochKey(t.partition), o)]);
    holder = leader === null ? null : parseLeader(leader.value);
    if (leader !== null) return { ok: false, holder };
    const epoch = Math.max((epochRec === null ? 0 : parseEpoch(epochRec.value)) + 1, t.minEpoch ?? 0);
    try {
      const revision = await c.commit({
        checks: [
          { key: leaderKey(t.partition), expect: { kind: 'absent' } },
          { key: epochKey(t.partition), expect: epochRec === null ? { kind: 'absent' } : { kind: 'revision', modRevision: epochRec.modRevision } },
        ],
        puts: [
          { key: leaderKey(t.partition), value: JSON.stringify({ region: t.region, epoch } satisfies LeaderRecord), lease: t.lease },
          { key: epochKey(t.partition), value: JSON.stringify({ epoch }) },
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

function parseEpoch(text: string): number {
  try {
    const v = (JSON.parse(text) as { epoch?: unknown }).epoch;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
  } catch {
    return 0;
  }
}

function sameLeader(a: LeaderRecord | null, b: LeaderRecord): boolean {
  return a !== null && a.region === b.region && a.epoch === b.epoch;
}
