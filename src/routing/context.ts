// What every policy and deployment model reads while ranking one query, computed once
// per route() call. Still pure: it only remembers answers of the pure latency model.

import type { RttEstimate } from '../geo/index.js';
import type { RegionId } from '../lib/index.js';
import type { RegionHealth, RoutingQuery, RoutingTable } from './types.js';

export interface RoutingContext {
  readonly table: RoutingTable;
  readonly query: RoutingQuery;
  /** A region absent from the health map counts as up: no news is not bad news
   *  (a region the detector has not judged yet still serves). */
  isUp(region: RegionId): boolean;
  /** The health record, when the query carries one for this region. */
  health(region: RegionId): RegionHealth | undefined;
  /** Estimated RTT from the client, or null when the client's (or the region's)
   *  location is unknown. */
  clientRtt(region: RegionId): RttEstimate | null;
  /** Position in the config's region list: the tie-breaker of every ordering. */
  configIndex(region: RegionId): number;
}

export function makeContext(table: RoutingTable, query: RoutingQuery): RoutingContext {
  const index = new Map(table.regions.map((r, i) => [r, i] as const));
  const rtts = new Map<RegionId, RttEstimate | null>();
  const location = query.client.location;
  return {
    table,
    query,
    isUp: (region) => query.health.get(region)?.up ?? true,
    health: (region) => query.health.get(region),
    clientRtt(region) {
      const known = rtts.get(region);
      if (known !== undefined) return known;
      // The latency model throws for a region it has no coordinates for; routing must
      // not crash a DNS server over it, so such a region simply has no estimate.
      const rtt = location === null || table.latency.location(region) === undefined ? null : table.latency.clientRtt(location, region);
      rtts.set(region, rtt);
      return rtt;
    },
    configIndex: (region) => index.get(region) ?? table.regions.length,
  };
}
