// Derived facts: what follows from the file and is asked for in many places, computed
// in one place (who may store what, failover orders, the routing table).

import { isIP } from 'node:net';
import type { GeoPoint } from '../geo/index.js';
import { LatencyModel, loadRegionCatalog, type RegionCatalog } from '../geo/index.js';
import { jurisdiction, regionId, tableName, type Jurisdiction, type RegionId, type TableName } from '../lib/index.js';
import type { TableConfig, TopologyFile } from './schema.js';

export interface Region {
  readonly id: RegionId;
  readonly location: GeoPoint;
  readonly jurisdiction: Jurisdiction;
  readonly public: string;
  readonly mesh: { readonly host: string; readonly port: number };
  readonly app: string;
}

/** A validated topology: the file (defaults applied) and what follows from it. */
export interface Topology {
  readonly file: TopologyFile;
  readonly regions: readonly Region[];
  readonly tables: ReadonlyMap<TableName, TableConfig>;
  readonly catalog: RegionCatalog;
}

export function buildTopology(file: TopologyFile, catalog: RegionCatalog = loadRegionCatalog()): Topology {
  const regions = file.regions.map((r): Region => {
    const fromCatalog = catalog.regions.find((c) => c.id === r.id);
    const location = r.location ?? (fromCatalog && { lat: fromCatalog.lat, lon: fromCatalog.lon });
    if (location === undefined) throw new Error(`region ${r.id} has no location (validation should have caught this)`);
    return { id: regionId(r.id), location, jurisdiction: jurisdiction(r.jurisdiction), public: r.public, mesh: r.mesh, app: r.app };
  });
  const tables = new Map(Object.entries(file.data.tables).map(([k, v]) => [tableName(k), v]));
  return { file, regions, tables, catalog };
}

export function regionById(t: Topology, id: RegionId | string): Region | undefined {
  return t.regions.find((r) => r.id === id);
}

export function isStrict(t: Topology, j: Jurisdiction): boolean {
  return t.file.data.residency[j] === 'strict';
}

/**
 * The regions allowed to store rows homed in `home`: the home's jurisdiction's regions
 * when it is strict, every region otherwise. The home region comes first.
 */
export function allowedRegionsForHome(t: Topology, home: RegionId): RegionId[] {
  const h = regionById(t, home);
  if (h === undefined) return [];
  const allowed = isStrict(t, h.jurisdiction) ? t.regions.filter((r) => r.jurisdiction === h.jurisdiction) : t.regions;
  return [home, ...allowed.map((r) => r.id).filter((id) => id !== home)];
}

/**
 * The failover order seen from `from`: the explicit deployment.failover list (regions
 * it leaves out follow by latency), else every other region by measured RTT from `from`.
 */
export function failoverOrder(t: Topology, from: RegionId, latency = latencyModel(t)): RegionId[] {
  const explicit = (t.file.deployment.failover ?? []).map(regionId);
  const byRtt = t.regions
    .map((r) => r.id)
    .filter((id) => id !== from && !explicit.includes(id))
    .sort((a, b) => latency.regionRtt(from, a).ms - latency.regionRtt(from, b).ms);
  return [...explicit.filter((id) => id !== from), ...byRtt];
}

/** The synchronous follower of a home partition: the next allowed region in failover order. */
export function syncFollower(t: Topology, home: RegionId): RegionId | undefined {
  const allowed = new Set(allowedRegionsForHome(t, home));
  return failoverOrder(t, home).find((id) => allowed.has(id));
}

export function latencyModel(t: Topology): LatencyModel {
  return new LatencyModel(t.catalog, t.regions.map((r) => ({ id: r.id, ...r.location })));
}

/**
 * Whether the regions sit on more than one machine. Loopback addresses are one machine
 * (the local world); otherwise each distinct mesh host counts as a machine.
 */
export function spansMachines(file: TopologyFile): boolean {
  const allLoopback = file.regions.every((r) => isLoopback(r.public) && isLoopback(r.mesh.host));
  if (allLoopback) return false;
  return new Set(file.regions.map((r) => r.mesh.host)).size > 1;
}

export function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
