// The world's report: per serving region and per user continent, what the users saw.
// Built from WorldStats; the live view shows the last second, the report the whole run.

import type { GroupStats, WorldStats } from './stats.js';

export interface GroupReport {
  requests: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Share of requests served by the region nearest the user (by estimated RTT). */
  nearestShare: number | null;
  users: number;
}

export interface WorldReport {
  durationSec: number;
  regions: Record<string, GroupReport & { state: string }>;
  continents: Record<string, GroupReport>;
  total: GroupReport;
  dns: { queries: number; errors: number };
  events: { atSec: number; kind: string; detail: string }[];
}

const round1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

export function groupReport(g: GroupStats, allUsers: Set<number>): GroupReport {
  return {
    requests: g.requests,
    errors: g.errors,
    p50Ms: round1(g.latency.quantile(0.5)),
    p99Ms: round1(g.latency.quantile(0.99)),
    nearestShare: g.requests === 0 ? null : Math.round((g.nearest / g.requests) * 1000) / 1000,
    users: allUsers.size,
  };
}

export function buildReport(
  stats: WorldStats,
  states: Record<string, string>,
  startedMs: number,
  nowMs: number,
  events: readonly { atMs: number; kind: string; detail: string }[],
): WorldReport {
  // Users per group over the whole run, from the request records.
  const usersBy = (key: (r: { servedBy: string | null; resolvedTo: string | null; continent: string }) => string): Map<string, Set<number>> => {
    const m = new Map<string, Set<number>>();
    for (const r of stats.records()) {
      const k = key(r);
      let s = m.get(k);
      if (s === undefined) m.set(k, (s = new Set()));
      s.add(r.user);
    }
    return m;
  };
  const regionUsers = usersBy((r) => r.servedBy ?? r.resolvedTo ?? 'none');
  const continentUsers = usersBy((r) => r.continent);
  const regions: WorldReport['regions'] = {};
  for (const id of Object.keys(states)) {
    const g = stats.byRegion.get(id);
    const base = g === undefined
      ? { requests: 0, errors: 0, p50Ms: null, p99Ms: null, nearestShare: null, users: 0 }
      : groupReport(g, regionUsers.get(id) ?? new Set());
    regions[id] = { ...base, state: states[id] ?? 'unknown' };
  }
  for (const [id, g] of stats.byRegion) if (!(id in regions)) regions[id] = { ...groupReport(g, regionUsers.get(id) ?? new Set()), state: 'n/a' };
  const continents: WorldReport['continents'] = {};
  for (const [c, g] of [...stats.byContinent].sort()) continents[c] = groupReport(g, continentUsers.get(c) ?? new Set());
  return {
    durationSec: Math.round((nowMs - startedMs) / 100) / 10,
    regions,
    continents,
    total: groupReport(stats.total, new Set(stats.records().map((r) => r.user))),
    dns: { queries: stats.dnsQueries, errors: stats.dnsErrors },
    events: events.map((e) => ({ atSec: Math.round((e.atMs - startedMs) / 100) / 10, kind: e.kind, detail: e.detail })),
  };
}
