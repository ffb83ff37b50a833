// The routing contract. route() is PURE: everything it needs comes in as a value.

import type { RegionId } from '../lib/index.js';
import type { Continent, GeoPoint, LatencyModel } from '../geo/index.js';

export type RoutingPolicyName = 'latency' | 'proximity' | 'geolocation' | 'weighted' | 'failover' | 'multivalue';
export type DeploymentModel = 'active-active' | 'active-passive' | 'geo-partitioned';

/** Where the client is, and how we know. `null` location: unknown (private address, no data). */
export interface ClientInfo {
  readonly location: (GeoPoint & { readonly country: string; readonly continent: Continent }) | null;
  /** Which address located the client: the EDNS Client Subnet, the resolver, or the HTTP peer. */
  readonly source: 'ecs' | 'resolver' | 'request' | 'none';
  /** The client's subnet (e.g. `81.2.69.0/24`): the key weighted and multivalue picks hash,
   *  so a client keeps its answer across queries. */
  readonly subnet: string;
}

/** One region's health as the failure detector sees it. */
export interface RegionHealth {
  readonly up: boolean;
  /** When it changed to the current state (ms since epoch), if known: reasons quote it. */
  readonly sinceMs?: number;
}

/** The deployment as routing sees it; the topology room derives it from the config. */
export interface RoutingTable {
  /** Every region, in config order. */
  readonly regions: readonly RegionId[];
  readonly model: DeploymentModel;
  /** active-passive: the region that serves while healthy. */
  readonly primary?: RegionId;
  /** Explicit failover order (deployment.failover); absent: ordered by latency. */
  readonly failoverOrder?: readonly RegionId[];
  readonly policy: RoutingPolicyName;
  /** proximity: Route 53 geoproximity bias, -99..99 per region (absent: 0). */
  readonly bias: Readonly<Record<string, number>>;
  /** geolocation: keys are `country:XX`, `continent:XX` or `default` (normalised by topology). */
  readonly geolocation: Readonly<Record<string, RegionId>>;
  /** weighted: relative weights per region (absent: 0 = never picked while another is healthy). */
  readonly weights: Readonly<Record<string, number>>;
  readonly latency: LatencyModel;
}

export interface RoutingQuery {
  readonly client: ClientInfo;
  readonly health: ReadonlyMap<RegionId, RegionHealth>;
  /** geo-partitioned: the region the request's data is homed in, if the request names one. */
  readonly homeRegion?: RegionId;
}

export interface RankedRegion {
  readonly region: RegionId;
  readonly up: boolean;
  /** Why this region is at this rank, in words a person reads in `meridian route`. */
  readonly reason: string;
  /** Estimated round trip from the client, when the client's location is known. */
  readonly rttMs: number | null;
}

export interface RoutingDecision {
  /** Every region, best first; never a down region above an up one (unless all are down). */
  readonly ranked: readonly RankedRegion[];
  /** The regions to hand out: the first for single-answer policies, up to 8 healthy for multivalue. */
  readonly answer: readonly RegionId[];
  /** True when every candidate is down and the answer fails open to all of them. */
  readonly allDown: boolean;
  readonly policy: RoutingPolicyName;
  readonly model: DeploymentModel;
  /** One line: what decided the first answer. */
  readonly summary: string;
}

export const multivalueMax = 8;
