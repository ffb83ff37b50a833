// Weighted: Route 53 weighted records, made sticky per client. Each region scores
//
//   score = weight / −ln(u),  u = stableUnit(subnet, region) ∈ (0, 1)
//
// and regions are ranked by score, highest first (weighted rendezvous hashing). Over many
// subnets a region comes first with probability weight / Σ weights; for one subnet the
// whole ranking is fixed, and when a region goes down its clients spread over the others
// in proportion to their weights while nobody else moves.

import type { RegionId } from '../../lib/index.js';
import type { RoutingContext } from '../context.js';
import { describe, type Policy } from '../policy.js';
import { pickKey, stableUnit } from '../stable-hash.js';
import { percentText } from '../wording.js';

/** A region's weight; absent, negative or not a number counts as 0 (never picked while a
 *  weighted region is healthy, as in Route 53). */
export function weightOf(region: RegionId, ctx: RoutingContext): number {
  const w = ctx.table.weights[region] ?? 0;
  return Number.isFinite(w) && w > 0 ? w : 0;
}

/** The rendezvous score of `region` for `subnet`; higher wins. */
export function rendezvousScore(subnet: string, region: RegionId, weight: number): number {
  return weight / -Math.log(stableUnit(pickKey(subnet, region)));
}

/** Candidates by rendezvous score for the client's subnet: weighted regions first, then
 *  weight-0 ones shuffled the same way with equal weights (Route 53 answers among
 *  weight-0 records only when every weighted one is unhealthy). */
export function orderByRendezvous(candidates: readonly RegionId[], ctx: RoutingContext, weight: (r: RegionId) => number): RegionId[] {
  const subnet = ctx.query.client.subnet;
  const scored = candidates.map((region) => {
    const w = weight(region);
    return { region, tier: w > 0 ? 0 : 1, score: rendezvousScore(subnet, region, w > 0 ? w : 1), index: ctx.configIndex(region) };
  });
  scored.sort((a, b) => a.tier - b.tier || b.score - a.score || a.index - b.index);
  return scored.map((s) => s.region);
}

export const weightedPolicy: Policy = (candidates, ctx) => {
  const totalWeight = ctx.table.regions.reduce((sum, r) => sum + weightOf(r, ctx), 0);
  const order = orderByRendezvous(candidates, ctx, (r) => weightOf(r, ctx));
  const subnet = ctx.query.client.subnet;
  return describe(order, ctx, (region, { lead }) => {
    const w = weightOf(region, ctx);
    if (w === 0) {
      return lead
        ? `weight 0, and no weighted region is healthy: picked by hash of client subnet ${subnet}`
        : 'weight 0: serves only when every weighted region is down';
    }
    const share = `weight ${w} of ${totalWeight} (${percentText(w / totalWeight)})`;
    return lead ? `weighted pick for client subnet ${subnet}: ${share}` : share;
  });
};
