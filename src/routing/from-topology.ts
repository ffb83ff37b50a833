// The routing table of a deployment, derived from its topology: the one place that reads
// the config's routing and deployment sections for the routing function. (Here, not in
// topology/, so that imports point down: routing may read the topology, not the reverse.)

import type { LatencyModel } from '../geo/index.js';
import { regionId, type RegionId } from '../lib/index.js';
import { latencyModel, normaliseGeoKey, type Topology } from '../topology/index.js';
import type { RoutingTable } from './types.js';

/** The deployment as the routing function sees it. */
export function routingTable(t: Topology, latency: LatencyModel = latencyModel(t)): RoutingTable {
  const f = t.file;
  const geolocation: Record<string, RegionId> = {};
  for (const [k, v] of Object.entries(f.routing.geolocation)) {
    const key = normaliseGeoKey(k);
    if (key.ok) geolocation[key.key] = regionId(v);
  }
  return {
    regions: t.regions.map((r) => r.id),
    model: f.deployment.model,
    ...(f.deployment.primary !== undefined && { primary: regionId(f.deployment.primary) }),
    ...(f.deployment.failover !== undefined && { failoverOrder: f.deployment.failover.map(regionId) }),
    policy: f.routing.policy,
    bias: f.routing.bias,
    geolocation,
    weights: f.routing.weights,
    latency,
  };
}

