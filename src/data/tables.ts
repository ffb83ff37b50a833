// What each table is, in the terms the data path decides by: where a row lives, where it
// is written, what a read may be served from.

import type { RegionId } from '../lib/index.js';
import type { TableConfig } from '../topology/index.js';

export type TablePlan =
  | { readonly kind: 'home'; readonly homeFrom: 'client' | { readonly field: string }; readonly consistency: 'strong' | 'eventual'; readonly survive: 'region' | 'zone' }
  | { readonly kind: 'global'; readonly writes: 'primary' | 'anywhere' }
  | { readonly kind: 'counter' };

export function planOf(t: TableConfig): TablePlan {
  if (t.locality === 'home') {
    const homeFrom = t.home_from === 'client' ? ('client' as const) : { field: t.home_from.slice('field:'.length) };
    return { kind: 'home', homeFrom, consistency: t.consistency, survive: t.survive };
  }
  return t.type === 'counter' ? { kind: 'counter' } : { kind: 'global', writes: t.writes };
}

/** What the placement decisions need to know about the world, as plain values. */
export interface PlacementView {
  readonly self: RegionId;
  /** The deployment's primary: where `writes: primary` go. */
  readonly primary: RegionId;
  /** Regions that may store rows homed in `home`, the home first. */
  allowedFor(home: RegionId): readonly RegionId[];
  isKnown(r: string): boolean;
  /** Where the home partition's rows are written now: its leader as last seen, else the
   *  home itself. */
  leaderOf(home: RegionId): RegionId;
  isUp(r: RegionId): boolean;
  /** Other regions, nearest first. */
  byDistance(): readonly RegionId[];
  /** For each strict jurisdiction other than this region's: its regions, nearest first.
   *  Rows homed there are not replicated here, so a local miss may be a row held there. */
  foreignStrict(): readonly (readonly RegionId[])[];
}
