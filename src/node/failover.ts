// Which regions a gateway offers a request to when its own application is down: the
// routing function's ranking for a client standing at this region, with this region
// marked down, keeping only healthy regions.

import type { RegionId } from '../lib/index.js';
import { route, type ClientInfo, type RegionHealth, type RoutingTable } from '../routing/index.js';
import type { FailoverCandidate } from '../gateway/index.js';

export function failoverCandidates(
  table: RoutingTable,
  self: RegionId,
  at: NonNullable<ClientInfo['location']>,
  health: ReadonlyMap<RegionId, RegionHealth>,
): FailoverCandidate[] {
  const h = new Map(health);
  h.set(self, { up: false });
  const decision = route(table, {
    client: { location: at, source: 'request', subnet: `region:${self}` },
    health: h,
  });
  if (decision.allDown) return [];
  return decision.ranked.filter((r) => r.up && r.region !== self).map((r) => ({ region: r.region, reason: r.reason }));
}
