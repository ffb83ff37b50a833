// Proximity: Route 53 geoproximity. Regions are ordered by great-circle distance from the
// client, scaled by each region's bias:
//
//   biased_km = distance_km × (1 − bias / 100),  bias in −99..99
//
// A positive bias shrinks a region's distance, so it wins clients from further away
// (its area grows); a negative bias does the opposite.

import { greatCircleKm } from '../../geo/index.js';
import type { RegionId } from '../../lib/index.js';
import type { RoutingContext } from '../context.js';
import { configOrder, describe, sortByKey, type Policy } from '../policy.js';
import { kmText, ordinal, signed } from '../wording.js';

/** Route 53's bias range: ±100 would make a distance 0 or double it. */
export const maxBias = 99;

export function biasedDistanceKm(distanceKm: number, bias: number): number {
  return distanceKm * (1 - bias / 100);
}

/** A region's configured bias, held inside −99..99 (topology validates the range; routing
 *  clamps rather than throws so a DNS server never fails over a config slip). */
export function biasOf(region: RegionId, ctx: RoutingContext): number {
  const raw = ctx.table.bias[region] ?? 0;
  if (!Number.isFinite(raw)) return 0;
  return Math.max(-maxBias, Math.min(maxBias, raw));
}

interface Proximity {
  readonly km: number;
  readonly bias: number;
  readonly biasedKm: number;
}

function proximity(region: RegionId, ctx: RoutingContext): Proximity | null {
  const client = ctx.query.client.location;
  const at = ctx.table.latency.location(region);
  if (client === null || at === undefined) return null;
  const km = greatCircleKm(client, at);
  const bias = biasOf(region, ctx);
  return { km, bias, biasedKm: biasedDistanceKm(km, bias) };
}

function proximityText(p: Proximity): string {
  if (p.bias === 0) return `${kmText(p.km)}, no bias`;
  return `${kmText(p.km)}, bias ${signed(p.bias)} → ${kmText(p.biasedKm)} biased`;
}

export const proximityPolicy: Policy = (candidates, ctx) => {
  if (ctx.query.client.location === null) {
    return describe(configOrder(candidates, ctx), ctx, (region, { lead }) => {
      const position = `${ordinal(ctx.configIndex(region) + 1)} in config`;
      return lead ? `client location unknown: config order, first healthy (${position})` : `client location unknown: config order (${position})`;
    });
  }
  const order = sortByKey(candidates, ctx, (r) => proximity(r, ctx)?.biasedKm ?? null);
  return describe(order, ctx, (region, { lead }) => {
    const p = proximity(region, ctx);
    if (p === null) return 'no coordinates for this region: ranked after regions with a distance';
    return lead ? `nearest healthy by geoproximity: ${proximityText(p)}` : `geoproximity: ${proximityText(p)}`;
  });
};
