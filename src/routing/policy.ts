// The one signature every routing policy shares, so policies are layers that the
// deployment models compose rather than branches in one big function.

import type { RegionId } from '../lib/index.js';
import type { RoutingContext } from './context.js';

/** A region at its place in a policy's order, and why it is there. */
export interface PolicyRank {
  readonly region: RegionId;
  readonly reason: string;
}

/**
 * Orders `candidates` (given in config order) best first and says why for each. Returns
 * a permutation of `candidates`. Health only shapes the wording ("nearest healthy");
 * route() does the up-before-down partition, so no policy can get that wrong.
 */
export type Policy = (candidates: readonly RegionId[], ctx: RoutingContext) => PolicyRank[];

/** Where a region stands in an order: whether it is the first up region, the one this
 *  order would answer with (reasons claim "nearest healthy" only for it). */
export interface Standing {
  readonly lead: boolean;
}

/** Attaches reasons to an order, telling each describer whether its region leads. */
export function describe(order: readonly RegionId[], ctx: RoutingContext, reason: (region: RegionId, standing: Standing) => string): PolicyRank[] {
  const leader = order.find((r) => ctx.isUp(r));
  return order.map((region) => ({ region, reason: reason(region, { lead: region === leader }) }));
}

/** Sorts by a numeric key, ascending, with config order breaking ties (and ordering the
 *  regions whose key is unknown, which go last). */
export function sortByKey(candidates: readonly RegionId[], ctx: RoutingContext, key: (region: RegionId) => number | null): RegionId[] {
  const keyed = candidates.map((region) => ({ region, key: key(region), index: ctx.configIndex(region) }));
  keyed.sort((a, b) => {
    if (a.key === null || b.key === null) {
      if (a.key !== b.key) return a.key === null ? 1 : -1;
      return a.index - b.index;
    }
    return a.key - b.key || a.index - b.index;
  });
  return keyed.map((k) => k.region);
}

export function configOrder(candidates: readonly RegionId[], ctx: RoutingContext): RegionId[] {
  return sortByKey(candidates, ctx, () => 0);
}
