// Watches the world's data through the nodes' /status: writes committed per region (as a
// rate between samples, and summed over the run across node restarts), the replication
// lag matrix, conflicts resolved. Fed one status body per region per sample; no I/O.

import { readNodeDataStatus, type NodeDataStatus } from './data-status.js';
import { lagMatrix, lagPairs, type LagCell, type LagMatrix } from './lag-matrix.js';

export interface DataSnapshot {
  /** Per region, writes committed per second since the previous sample; null when unknown. */
  readonly writesPerSec: ReadonlyMap<string, number | null>;
  readonly totalWritesPerSec: number | null;
  readonly matrix: LagMatrix;
  /** Conflicts resolved (last writer wins), summed over the nodes that report it. */
  readonly conflictsTotal: number | null;
}

export interface DataReport {
  /** Writes committed during the run, all regions; null if no node reported data. */
  writesCommitted: number | null;
  writesPerSec: number | null;
  byRegion: Record<string, { writesCommitted: number | null }>;
  /** `from->to`: the last lag each destination reported, and the highest p99 seen. */
  lagMs: Record<string, LagCell & { p99MaxMs: number | null }>;
  conflicts: number | null;
}

interface Committed {
  count: number;
  atMs: number;
}

export class DataMonitor {
  private readonly current = new Map<string, NodeDataStatus | null>();
  private readonly lastKnown = new Map<string, NodeDataStatus>();
  private readonly previous = new Map<string, Committed>();
  private readonly rates = new Map<string, number | null>();
  /** Writes committed over the run per region: the first count, plus every increase since (a restarted node counts from 0 again). */
  private readonly runTotal = new Map<string, number>();
  private readonly p99Max = new Map<string, number>();

  constructor(private readonly regions: readonly string[]) {}

  /** One sample of a region's /status body; null when the node did not answer. */
  observe(region: string, status: unknown, nowMs: number): void {
    const d = status === null ? null : readNodeDataStatus(status);
    this.current.set(region, d);
    if (d === null) {
      this.rates.set(region, null);
      return;
    }
    this.lastKnown.set(region, d);
    if (d.writesCommitted !== null) {
      const prev = this.previous.get(region);
      const increase = prev === undefined ? d.writesCommitted : d.writesCommitted >= prev.count ? d.writesCommitted - prev.count : d.writesCommitted;
      this.runTotal.set(region, (this.runTotal.get(region) ?? 0) + increase);
      this.rates.set(region, prev === undefined || nowMs <= prev.atMs ? null : (increase * 1000) / (nowMs - prev.atMs));
      this.previous.set(region, { count: d.writesCommitted, atMs: nowMs });
    }
    for (const [from, l] of Object.entries(d.inbound)) {
      if (l.lagMsP99 === null) continue;
      const pair = `${from}->${region}`;
      this.p99Max.set(pair, Math.max(this.p99Max.get(pair) ?? 0, l.lagMsP99));
    }
  }

  snapshot(): DataSnapshot {
    const rates = new Map(this.regions.map((r) => [r, this.rates.get(r) ?? null]));
    const known = [...rates.values()].filter((x): x is number => x !== null);
    return {
      writesPerSec: rates,
      totalWritesPerSec: known.length === 0 ? null : known.reduce((a, b) => a + b, 0),
      matrix: lagMatrix(this.regions, this.current),
      conflictsTotal: sumKnown([...this.current.values()].map((d) => d?.conflictsTotal ?? null)),
    };
  }

  report(durationSec: number): DataReport {
    const byRegion: DataReport['byRegion'] = {};
    for (const r of this.regions) byRegion[r] = { writesCommitted: this.runTotal.get(r) ?? null };
    const total = sumKnown(this.regions.map((r) => this.runTotal.get(r) ?? null));
    const lagMs: DataReport['lagMs'] = {};
    for (const [pair, c] of Object.entries(lagPairs(lagMatrix(this.regions, this.lastKnown)))) lagMs[pair] = { ...c, p99MaxMs: this.p99Max.get(pair) ?? null };
    return {
      writesCommitted: total,
      writesPerSec: total === null || durationSec <= 0 ? null : Math.round((total / durationSec) * 10) / 10,
      byRegion,
      lagMs,
      conflicts: sumKnown([...this.lastKnown.values()].map((d) => d.conflictsTotal)),
    };
  }
}

function sumKnown(xs: readonly (number | null)[]): number | null {
  const known = xs.filter((x): x is number => x !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}
