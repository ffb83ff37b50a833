// Failover: Route 53 failover records, Cloudflare LB "off/failover", gdnsd metafo. The
// first healthy region in the configured order serves; regions the order leaves out
// follow it by latency. With no order configured, latency is the order.

import type { RegionId } from '../../lib/index.js';
import type { RoutingContext } from '../context.js';
import { describe, type Policy } from '../policy.js';
import { ordinal } from '../wording.js';
import { latencyReason, orderByLatency } from './latency.js';

/** The configured failover order restricted to the candidates, each once. */
export function listedOrder(candidates: readonly RegionId[], order: readonly RegionId[]): RegionId[] {
  const listed: RegionId[] = [];
  for (const r of order) if (candidates.includes(r) && !listed.includes(r)) listed.push(r);
  return listed;
}

export const failoverPolicy: Policy = (candidates, ctx: RoutingContext) => {
  const order = ctx.table.failoverOrder;
  if (order === undefined || order.length === 0) {
    return describe(orderByLatency(candidates, ctx), ctx, (region, standing) => `no failover order configured; ${latencyReason(region, standing, ctx)}`);
  }
  const listed = listedOrder(candidates, order);
  const rest = orderByLatency(
    candidates.filter((r) => !listed.includes(r)),
    ctx,
  );
  return describe([...listed, ...rest], ctx, (region, standing) => {
    const i = listed.indexOf(region);
    if (i >= 0) {
      const place = `${ordinal(i + 1)} in failover order`;
      return standing.lead && i > 0 ? `${place}: first healthy (${listed.slice(0, i).join(', ')} down)` : place;
    }
    return `not in failover order; ${latencyReason(region, standing, ctx)}`;
  });
};
