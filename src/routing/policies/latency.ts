// Latency: the region with the lowest estimated round trip from the client first (Route 53
// latency records, Cloudflare dynamic latency). The estimate is the latency model's:
// measured inter-region RTTs with the client anchored at its nearest region, or fibre.

import type { RegionId } from '../../lib/index.js';
import type { RoutingContext } from '../context.js';
import { configOrder, describe, sortByKey, type Policy, type Standing } from '../policy.js';
import { ordinal, rttText } from '../wording.js';

/** Candidates by RTT from the client, config order on ties; config order when the client
 *  is not located (there is nothing better to go on). */
export function orderByLatency(candidates: readonly RegionId[], ctx: RoutingContext): RegionId[] {
  if (ctx.query.client.location === null) return configOrder(candidates, ctx);
  return sortByKey(candidates, ctx, (r) => ctx.clientRtt(r)?.ms ?? null);
}

/** Why a region sits where latency put it. Only the leader is called "nearest healthy":
 *  a claim about any other rank would need more context than this line has. */
export function latencyReason(region: RegionId, standing: Standing, ctx: RoutingContext): string {
  if (ctx.query.client.location === null) {
    const position = `${ordinal(ctx.configIndex(region) + 1)} in config`;
    return standing.lead ? `client location unknown: config order, first healthy (${position})` : `client location unknown: config order (${position})`;
  }
  const rtt = ctx.clientRtt(region);
  if (rtt === null) return 'no coordinates for this region: RTT unknown, ranked after regions with an estimate';
  return standing.lead ? `nearest healthy by ${rttText(rtt)}` : rttText(rtt);
}

export const latencyPolicy: Policy = (candidates, ctx) =>
  describe(orderByLatency(candidates, ctx), ctx, (region, standing) => latencyReason(region, standing, ctx));
