// The health partition, the one rule no policy may break: every up region, in the
// model's order, before every down one. When nothing is up, fail open like gdnsd and
// Route 53: hand out every region (up to the answer cap) rather than an empty answer,
// since a region the detector calls down may only be unreachable from the detector.

import type { RoutingContext } from './context.js';
import type { PolicyRank } from './policy.js';
import { multivalueMax, type RankedRegion } from './types.js';
import { sinceText } from './wording.js';

export interface Partitioned {
  readonly ranked: RankedRegion[];
  readonly allDown: boolean;
}

export function partitionByHealth(order: readonly PolicyRank[], ctx: RoutingContext): Partitioned {
  const rank = (p: PolicyRank, reason: string): RankedRegion => ({
    region: p.region,
    up: ctx.isUp(p.region),
    reason,
    rttMs: ctx.clientRtt(p.region)?.ms ?? null,
  });
  const up = order.filter((p) => ctx.isUp(p.region));
  if (up.length === 0) {
    return {
      ranked: order.map((p, i) => rank(p, `${failOpenText(order.length, i)}; ${p.region} down${sinceText(ctx.health(p.region)?.sinceMs)}; ${p.reason}`)),
      allDown: true,
    };
  }
  const down = order.filter((p) => !ctx.isUp(p.region));
  return {
    ranked: [
      ...up.map((p) => rank(p, p.reason)),
      ...down.map((p) => rank(p, `${p.region} down${sinceText(ctx.health(p.region)?.sinceMs)}, ranked after healthy regions; ${p.reason}`)),
    ],
    allDown: false,
  };
}

/** How many regions a fail-open answer holds: all of them, up to the DNS answer cap. */
export function failOpenCount(regionCount: number): number {
  return Math.min(regionCount, multivalueMax);
}

/** `all 6 regions down: answering with all (fail open)`, and what it means for this one. */
export function failOpenHeadline(regionCount: number): string {
  if (regionCount === 1) return 'the only region is down: answering with it anyway (fail open)';
  if (regionCount <= multivalueMax) return `all ${regionCount} regions down: answering with all (fail open)`;
  return `all ${regionCount} regions down: answering with the first ${multivalueMax} (fail open)`;
}

function failOpenText(regionCount: number, index: number): string {
  const beyond = index >= failOpenCount(regionCount) ? `, this one beyond the ${multivalueMax}-record answer` : '';
  return `${failOpenHeadline(regionCount)}${beyond}`;
}
