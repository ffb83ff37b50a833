// Shared test fixtures: the shipped latency model, a table builder with plain defaults,
// and clients at places whose answers are easy to reason about.

import { LatencyModel, loadRegionCatalog, type Continent } from '../../src/geo/index.js';
import { regionId, type RegionId } from '../../src/lib/index.js';
import type { ClientInfo, RegionHealth, RoutingQuery, RoutingTable } from '../../src/routing/index.js';

export const latency = new LatencyModel(loadRegionCatalog(), []);

export const ids = (...names: string[]): RegionId[] => names.map(regionId);

export function table(regions: readonly string[], overrides: Partial<Omit<RoutingTable, 'regions'>> = {}): RoutingTable {
  return {
    regions: ids(...regions),
    model: 'active-active',
    policy: 'latency',
    bias: {},
    geolocation: {},
    weights: {},
    latency,
    ...overrides,
  };
}

export function clientAt(lat: number, lon: number, country: string, continent: Continent, subnet = '192.0.2.0/24'): ClientInfo {
  return { location: { lat, lon, country, continent }, source: 'ecs', subnet };
}

export const london = clientAt(51.5, -0.1, 'GB', 'EU', '81.2.69.0/24');
export const paris = clientAt(48.86, 2.35, 'FR', 'EU', '90.84.0.0/24');
export const sydney = clientAt(-33.87, 151.21, 'AU', 'OC', '1.120.0.0/24');
export const tokyo = clientAt(35.68, 139.69, 'JP', 'AS', '126.0.0.0/24');
export const unlocated: ClientInfo = { location: null, source: 'none', subnet: '10.0.0.0/24' };

/** 2025-05-29T12:03:04Z: a fixed instant for "down since" reasons. */
export const outageMs = Date.UTC(2025, 4, 29, 12, 3, 4);

export function down(...regions: string[]): Map<RegionId, RegionHealth> {
  return new Map(regions.map((r) => [regionId(r), { up: false, sinceMs: outageMs }]));
}

export function query(client: ClientInfo, health: ReadonlyMap<RegionId, RegionHealth> = new Map(), homeRegion?: string): RoutingQuery {
  return homeRegion === undefined ? { client, health } : { client, health, homeRegion: regionId(homeRegion) };
}

export const order = (d: { ranked: readonly { region: RegionId }[] }): string[] => d.ranked.map((r) => r.region);

export const reasonOf = (d: { ranked: readonly { region: RegionId; reason: string }[] }, region: string): string => {
  const r = d.ranked.find((x) => x.region === region);
  if (r === undefined) throw new Error(`${region} is not ranked`);
  return r.reason;
};

/** A /24 for client number i: 10.x.y.0/24, distinct for i < 65536. */
export const subnetFor = (i: number): string => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
