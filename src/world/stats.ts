// What the users saw: every request's outcome, aggregated per serving region and per
// user continent, for the live view and the final report. Memory is bounded: latency in
// fixed-size histograms, and a ring of the most recent request records for checkers.

import type { RegionId } from '../lib/index.js';
import { LatencyHistogram } from './histogram.js';

export interface RequestRecord {
  readonly atMs: number;
  readonly user: number;
  readonly continent: string;
  /** The region the DNS answer sent the user to. */
  readonly resolvedTo: RegionId | null;
  /** The region whose application answered (x-meridian-region), when known. */
  readonly servedBy: string | null;
  readonly nearest: RegionId;
  /** What the request did (user-requests.ts): `page`, `read catalog`, `write carts`, ... */
  readonly op?: string;
  readonly status: number;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly error?: string;
}

export interface GroupStats {
  requests: number;
  errors: number;
  nearest: number;
  readonly latency: LatencyHistogram;
  readonly window: LatencyHistogram;
  windowRequests: number;
  windowErrors: number;
  readonly users: Set<number>;
}

const newGroup = (): GroupStats => ({
  requests: 0, errors: 0, nearest: 0, latency: new LatencyHistogram(), window: new LatencyHistogram(), windowRequests: 0, windowErrors: 0, users: new Set(),
});

export const maxRecords = 200_000;

export class WorldStats {
  readonly byRegion = new Map<string, GroupStats>();
  readonly byContinent = new Map<string, GroupStats>();
  readonly byOp = new Map<string, GroupStats>();
  readonly total = newGroup();
  private readonly ring: RequestRecord[] = [];
  private ringStart = 0;
  dnsQueries = 0;
  dnsErrors = 0;

  record(r: RequestRecord): void {
    const region = r.servedBy ?? r.resolvedTo ?? 'none';
    const groups = [this.group(this.byRegion, region), this.group(this.byContinent, r.continent), this.total];
    if (r.op !== undefined) groups.push(this.group(this.byOp, r.op));
    for (const g of groups) {
      g.requests++;
      g.windowRequests++;
      if (!r.ok) {
        g.errors++;
        g.windowErrors++;
      }
      if (r.servedBy === r.nearest) g.nearest++;
      g.latency.record(r.latencyMs);
      g.window.record(r.latencyMs);
      g.users.add(r.user);
    }
    if (this.ring.length < maxRecords) this.ring.push(r);
    else {
      this.ring[this.ringStart] = r;
      this.ringStart = (this.ringStart + 1) % maxRecords;
    }
  }

  private group(m: Map<string, GroupStats>, key: string): GroupStats {
    let g = m.get(key);
    if (g === undefined) {
      g = newGroup();
      m.set(key, g);
    }
    return g;
  }

  /** The recorded requests, oldest first (the most recent `maxRecords`). */
  records(): RequestRecord[] {
    return [...this.ring.slice(this.ringStart), ...this.ring.slice(0, this.ringStart)];
  }

  /** Starts a new live-view window (per-second rates, window percentiles). */
  nextWindow(): void {
    for (const g of [...this.byRegion.values(), ...this.byContinent.values(), ...this.byOp.values(), this.total]) {
      g.window.reset();
      g.windowRequests = 0;
      g.windowErrors = 0;
      g.users.clear();
    }
  }
}
