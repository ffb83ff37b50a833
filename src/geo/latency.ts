// The latency model. PURE: built from data, answers from memory.
//
// Between two regions the measured matrix (data/cloud-regions.json, cloudping p50) is the
// truth. For anything else the fibre estimate stands in:
//
//   rtt_ms = 2 × distance_km × fibreStretch / fibreKmPerMs + fibreOverheadMs
//
// Light in fibre covers about 200 km per ms. Fibre does not follow great circles: a
// least-squares fit of the 496 measured pairs against 2×distance/200 gives a slope of
// 1.55 (and an intercept of 24 ms that mostly reflects long-haul routing detours), so the
// stretch is 1.5; the overhead of 5 ms stands for access networks and equipment, which is
// what the matrix shows within one region (af-south-1 to itself: 4.5 ms).
//
// A client (a user, a resolver) near a catalog region is "anchored": fibre to that region,
// then the measured RTT from it. That carries the real routes of the matrix (South America
// to Europe goes through the US) to users, the way latency-based DNS uses measurements.

import type { RegionId } from '../lib/index.js';
import { greatCircleKm } from './distance.js';
import type { GeoPoint, RegionPoint, RttEstimate } from './types.js';

export const fibreKmPerMs = 200;
export const fibreStretch = 1.5;
export const fibreOverheadMs = 5;
/** A client further than this from every catalog region gets the plain fibre estimate. */
export const anchorRadiusKm = 1500;

export function fibreRttMs(distanceKm: number): number {
  return (2 * distanceKm * fibreStretch) / fibreKmPerMs + fibreOverheadMs;
}

/** The measured catalog: region coordinates and the RTT matrix in ms. */
export interface RegionCatalog {
  readonly source: string;
  readonly regions: readonly (RegionPoint & { readonly city: string; readonly country: string })[];
  readonly rttMs: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export class LatencyModel {
  private readonly byId = new Map<RegionId, GeoPoint>();

  /**
   * @param catalog the measured matrix and the catalog's region coordinates
   * @param regions the deployment's regions with their configured locations; they take
   *   precedence over the catalog's coordinates for the same id.
   */
  constructor(
    private readonly catalog: RegionCatalog,
    regions: readonly RegionPoint[] = [],
  ) {
    for (const r of catalog.regions) this.byId.set(r.id, { lat: r.lat, lon: r.lon });
    for (const r of regions) this.byId.set(r.id, { lat: r.lat, lon: r.lon });
  }

  location(region: RegionId): GeoPoint | undefined {
    return this.byId.get(region);
  }

  private measured(a: RegionId, b: RegionId): number | undefined {
    return this.catalog.rttMs[a]?.[b] ?? this.catalog.rttMs[b]?.[a];
  }

  /** RTT between two regions: measured when both are in the matrix, else the fibre estimate. */
  regionRtt(a: RegionId, b: RegionId): RttEstimate {
    const m = this.measured(a, b);
    if (m !== undefined) return { ms: m, source: 'measured' };
    const pa = this.byId.get(a);
    const pb = this.byId.get(b);
    if (pa === undefined || pb === undefined) {
      throw new Error(`latency model: unknown region ${pa === undefined ? a : b}`);
    }
    return { ms: round1(fibreRttMs(greatCircleKm(pa, pb))), source: 'fibre' };
  }

  /** The last point asked about and its anchor: route() asks once per region for the
   *  same client, and the scan over the catalog dominated a DNS answer's cost. */
  private lastAnchor: { lat: number; lon: number; anchor: { id: RegionId; km: number } | undefined } | undefined;

  /** The catalog region nearest to a point, if within the anchor radius. */
  nearestAnchor(p: GeoPoint): { id: RegionId; km: number } | undefined {
    const last = this.lastAnchor;
    if (last !== undefined && last.lat === p.lat && last.lon === p.lon) return last.anchor;
    const anchor = this.scanAnchor(p);
    this.lastAnchor = { lat: p.lat, lon: p.lon, anchor };
    return anchor;
  }

  private scanAnchor(p: GeoPoint): { id: RegionId; km: number } | undefined {
    let best: { id: RegionId; km: number } | undefined;
    for (const r of this.catalog.regions) {
      const km = greatCircleKm(p, r);
      if (best === undefined || km < best.km) best = { id: r.id, km };
    }
    return best !== undefined && best.km <= anchorRadiusKm ? best : undefined;
  }

  /** RTT from a client at `p` to `region`. */
  clientRtt(p: GeoPoint, region: RegionId): RttEstimate {
    const target = this.byId.get(region);
    if (target === undefined) throw new Error(`latency model: unknown region ${region}`);
    const direct = fibreRttMs(greatCircleKm(p, target));
    const anchor = this.nearestAnchor(p);
    if (anchor !== undefined) {
      const m = anchor.id === region ? 0 : this.measured(anchor.id, region);
      if (m !== undefined) {
        // Anchored: the client's own leg to its nearest region, then the measured route.
        // Never below the direct fibre estimate: the anchor can only add a detour.
        const ms = Math.max(direct, fibreRttMs(anchor.km) + m);
        return { ms: round1(ms), source: 'anchored', via: anchor.id };
      }
    }
    return { ms: round1(direct), source: 'fibre' };
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
