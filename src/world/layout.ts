// The shape of a local world: which regions, on which loopback addresses, and the
// topology file the nodes are started with.
//
// Region i (1-based, in config order) lives on 127.0.i.1: gateway :8080, DNS :5353,
// mesh :7070, application :9000 — the same ports in every region, as in production.
// The WAN relay for the link from region i to region j listens on 127.1.i.j, on the
// target's mesh port. (Tests move a world to other second octets so that several can
// run at once.)

import { stringify } from 'yaml';
import { isLoopback, type Region, type Topology, type TopologyFile } from '../topology/index.js';
import type { RegionCatalog } from '../geo/index.js';

/** Five regions on four continents. */
export const defaultWorldRegions = ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-southeast-1', 'sa-east-1'];

const euCountries = new Set(['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE']);

export const maxWorldRegions = 250;

/** A world topology (as a file's content) for catalog regions, on the loopback layout. */
export function worldTopologyFile(ids: readonly string[], catalog: RegionCatalog, octet = 0): Record<string, unknown> {
  if (ids.length === 0 || ids.length > maxWorldRegions) throw new Error(`a world has 1..${maxWorldRegions} regions`);
  const regions = ids.map((id, i) => {
    const c = catalog.regions.find((r) => r.id === id);
    if (c === undefined) throw new Error(`unknown region ${id}; expected one of data/cloud-regions.json: ${catalog.regions.map((r) => r.id).join(', ')}`);
    const host = `127.${octet}.${i + 1}.1`;
    return {
      id,
      jurisdiction: euCountries.has(c.country) ? 'eu' : c.country.toLowerCase(),
      public: host,
      mesh: `${host}:7070`,
      app: `http://${host}:9000`,
    };
  });
  // accounts survive the loss of a region only where every home has a second allowed
  // region: a strict jurisdiction with one region in the world (eu-west-1 alone in the
  // default) cannot, and then the table acknowledges after the local commit instead.
  const residency: Record<string, 'strict'> = { eu: 'strict' };
  const allowedCount = (j: string): number => (residency[j] === 'strict' ? regions.filter((r) => r.jurisdiction === j).length : regions.length);
  const survive = regions.every((r) => allowedCount(r.jurisdiction) >= 2) ? 'region' : 'zone';
  return {
    service: { name: 'shop', zone: 'shop.example.test', hosts: ['www', 'api'] },
    regions,
    // The primary is where `catalog` (writes: primary) is written.
    deployment: { model: 'active-active', primary: ids[0] },
    // Short TTLs: the world is for watching failover happen.
    routing: { policy: 'latency', ttl: '5s' },
    health: { interval: '1s', timeout: '500ms', down_after: 3, up_after: 3 },
    // The example application's tables (examples/app/server.mjs), one of each kind.
    data: {
      residency,
      tables: {
        accounts: { locality: 'home', home_from: 'client', consistency: 'strong', survive },
        carts: { locality: 'home', home_from: 'field:region', consistency: 'strong', survive: 'zone' },
        catalog: { locality: 'global', writes: 'primary' },
        prefs: { locality: 'global', writes: 'anywhere' },
        views: { locality: 'global', type: 'counter' },
      },
    },
    // Every simulated user queries from 127.0.0.1, one /24 to the rate limiter, while in
    // the real world they sit behind many resolvers: the world turns the limit off.
    dns: { rate_limit: { responses_per_second: 0 } },
  };
}

export function yamlOf(file: Record<string, unknown>): string {
  return `# Written by meridian dev for this run.\n${stringify(file)}`;
}

/** Checks that a topology can run as a local world: every address on loopback. */
export function worldProblems(f: TopologyFile): string[] {
  const out: string[] = [];
  f.regions.forEach((r, i) => {
    if (!isLoopback(r.public) || !isLoopback(r.mesh.host)) out.push(`regions[${i}] (${r.id}): a local world needs loopback addresses (127.0.0.0/8), got ${r.public} and ${r.mesh.host}`);
    const app = new URL(r.app);
    if (!isLoopback(app.hostname)) out.push(`regions[${i}] (${r.id}): app ${r.app} is not on loopback`);
  });
  if (f.regions.length > maxWorldRegions) out.push(`a local world has at most ${maxWorldRegions} regions`);
  return out;
}

/** The relay address for the link from region index i to j (0-based). */
export function relayHost(i: number, j: number, octet = 1): string {
  return `127.${octet}.${i + 1}.${j + 1}`;
}

export interface WorldRegion {
  readonly index: number;
  readonly region: Region;
  readonly appListen: { host: string; port: number };
}

export function worldRegions(t: Topology): WorldRegion[] {
  return t.regions.map((region, index) => {
    const u = new URL(region.app);
    return { index, region, appListen: { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) } };
  });
}

