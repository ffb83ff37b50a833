// Where a data operation runs. PURE: the table, what is known of the row, the consistency
// asked for and the view of the world come in; a decision comes out — run it here,
// forward it, look for the row elsewhere, or refuse with a reason.
//
// The rules (DESIGN.md §5): home tables write at the row's home; `writes: primary` at the
// primary; `writes: anywhere` and counters anywhere. Reads are local unless the row is
// not allowed here (residency), or freshness or strength asks for more. Nothing is ever
// run where residency forbids storing it: a write that cannot reach its home fails.

import type { RegionId } from '../lib/index.js';
import type { PlacementView, TablePlan } from './tables.js';

export type Placement =
  | { readonly at: 'local' }
  | { readonly at: 'forward'; readonly to: readonly RegionId[]; readonly why: string }
  /** Not here, and nothing known says where: ask these regions (in order) for the row. */
  | { readonly at: 'search'; readonly among: readonly RegionId[] }
  | { readonly at: 'refuse'; readonly status: 400 | 451 | 501 | 503; readonly error: string; readonly reason: string };

export type Consistency = { readonly kind: 'local' } | { readonly kind: 'strong' } | { readonly kind: 'max_staleness'; readonly ms: number };

/** What this region knows of the row before deciding. */
export interface RowFacts {
  /** The row's home, from the local copy, the request, or the value's home field. */
  readonly home: RegionId | null;
  /** Whether the local copy exists (live or tombstone). */
  readonly local: boolean;
}

const refuse = (status: 400 | 451 | 501 | 503, error: string, reason: string): Placement => ({ at: 'refuse', status, error, reason });

function toHome(v: PlacementView, home: RegionId, what: string): Placement {
  // Home rows are written at their partition's leader: the home itself, or after a
  // failover its synchronous follower.
  const leader = v.leaderOf(home);
  if (leader === v.self) return { at: 'local' };
  const allowedHere = v.allowedFor(home).includes(v.self);
  const where = leader === home ? `the row's home ${home}` : `${leader}, leading ${home}'s rows`;
  if (!v.isUp(leader)) {
    return allowedHere
      ? refuse(503, 'leader_unreachable', `${what} runs at ${where}, which is unreachable`)
      : refuse(503, 'region_unreachable', `${what} runs at ${where}, which is unreachable; residency forbids running it in ${v.self}`);
  }
  return { at: 'forward', to: [leader], why: `${what} runs at ${where}` };
}

/**
 * Where a write runs. `facts.home` is what is known of the row's home (local copy first,
 * then the request); when nothing is known, a home table's new row is homed here
 * (`home_from: client`: the client reached this region, its nearest) — unless a strict
 * jurisdiction elsewhere may hold the key, which is searched first.
 */
export function placeWrite(v: PlacementView, plan: TablePlan, facts: RowFacts, searched: boolean): Placement {
  switch (plan.kind) {
    case 'counter':
      return { at: 'local' };
    case 'global':
      if (plan.writes === 'anywhere' || v.primary === v.self) return { at: 'local' };
      return v.isUp(v.primary) ? { at: 'forward', to: [v.primary], why: `writes to this table go to the primary ${v.primary}` } : refuse(503, 'leader_unreachable', `writes go to the primary ${v.primary}, which is unreachable`);
    case 'home': {
      if (facts.home !== null) {
        if (!v.isKnown(facts.home)) return refuse(400, 'bad_request', `home region ${JSON.stringify(facts.home)} is not in the topology`);
        return toHome(v, facts.home, 'a write');
      }
      if (typeof plan.homeFrom !== 'string') return refuse(400, 'bad_request', `rows of this table take their home from the value's "${plan.homeFrom.field}" field, which is missing`);
      const elsewhere = v.foreignStrict().flat();
      if (!facts.local && !searched && elsewhere.length > 0) return { at: 'search', among: nearestUpPerJurisdiction(v) };
      return { at: 'local' };
    }
  }
}

/** Where a read by key runs. */
export function placeRead(v: PlacementView, plan: TablePlan, facts: RowFacts, c: Consistency, freshnessMs: (source: RegionId) => number | undefined, nowMs: number): Placement {
  if (c.kind === 'strong') {
    if (plan.kind === 'counter' || (plan.kind === 'global' && plan.writes === 'anywhere')) {
      return refuse(400, 'bad_request', 'strong reads are for home tables and writes: primary tables; this table takes writes anywhere, so it has no leader to read from');
    }
    if (plan.kind === 'global') return v.primary === v.self ? { at: 'local' } : v.isUp(v.primary) ? { at: 'forward', to: [v.primary], why: `strong reads of this table run at the primary ${v.primary}` } : refuse(503, 'leader_unreachable', `strong reads run at the primary ${v.primary}, which is unreachable`);
    // A row not stored here whose home is unknown would be homed here if created: its
    // strong read runs at this region's own partition leader.
    return toHome(v, facts.home ?? v.self, 'a strong read');
  }
  if (plan.kind !== 'home') {
    if (c.kind === 'local') return { at: 'local' };
    const sources = plan.kind === 'global' && plan.writes === 'primary' ? [v.primary] : v.byDistance();
    const stale = sources.filter((s) => s !== v.self && !fresh(freshnessMs(s), nowMs, c.ms));
    if (stale.length === 0) return { at: 'local' };
    if (plan.kind === 'global' && plan.writes === 'primary' && v.isUp(v.primary)) return { at: 'forward', to: [v.primary], why: `the local copy is not known to be within ${c.ms} ms of the primary` };
    return refuse(503, 'not_fresh', `the local copy is not known to be within ${c.ms} ms of ${stale.join(', ')}`);
  }
  const home = facts.home;
  if (home === null) {
    if (facts.local) return { at: 'local' };
    const among = nearestUpPerJurisdiction(v);
    return among.length === 0 ? { at: 'local' } : { at: 'search', among };
  }
  if (!v.isKnown(home)) return refuse(400, 'bad_request', `home region ${JSON.stringify(home)} is not in the topology`);
  const allowed = v.allowedFor(home);
  if (!allowed.includes(v.self)) {
    const up = allowed.filter((r) => v.isUp(r));
    return up.length > 0 ? { at: 'forward', to: up, why: `rows homed in ${home} are stored only in ${allowed.join(', ')}` } : refuse(503, 'region_unreachable', `rows homed in ${home} are stored only in ${allowed.join(', ')}, none reachable`);
  }
  const leader = v.leaderOf(home);
  if (c.kind === 'local' || leader === v.self || fresh(freshnessMs(leader), nowMs, c.ms)) return { at: 'local' };
  return v.isUp(leader) ? { at: 'forward', to: [leader], why: `the local copy is not known to be within ${c.ms} ms of ${leader}, leading ${home}'s rows` } : refuse(503, 'not_fresh', `the local copy is not known to be within ${c.ms} ms of ${leader}, which is unreachable`);
}

function fresh(sourceMs: number | undefined, nowMs: number, maxStalenessMs: number): boolean {
  return sourceMs !== undefined && nowMs - sourceMs <= maxStalenessMs;
}

function nearestUpPerJurisdiction(v: PlacementView): RegionId[] {
  return v.foreignStrict().map((rs) => rs.find((r) => v.isUp(r))).filter((r): r is RegionId => r !== undefined);
}
