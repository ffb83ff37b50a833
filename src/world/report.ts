// The world's report: per serving region, per user continent and per kind of request,
// what the users saw; and what the nodes did with the data (writes, replication lag,
// conflicts). Built from WorldStats and the DataMonitor; the live view shows the last
// second, the report the whole run.

import type { DataReport } from './data-monitor.js';
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
  /** By what the request did: `page`, `read catalog`, `write carts`, `increment views`, ... */
  ops: Record<string, GroupReport>;
  total: GroupReport;
  /** The nodes' data over the run; null when the world did not watch it. */
  data: DataReport | null;
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
  data: DataReport | null = null,
): WorldReport {
  // Users per group over the whole run, from the request records.
  const usersBy = (key: (r: { servedBy: string | null; resolvedTo: string | null; continent: string; op?: string }) => string): Map<string, Set<number>> => {
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
  const opUsers = usersBy((r) => r.op ?? '');
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
  const ops: WorldReport['ops'] = {};
  for (const [op, g] of [...stats.byOp].sort()) ops[op] = groupReport(g, opUsers.get(op) ?? new Set());
  return {
    durationSec: Math.round((nowMs - startedMs) / 100) / 10,
    regions,
    continents,
    ops,
    total: groupReport(stats.total, new Set(stats.records().map((r) => r.user))),
    dns: { queries: stats.dnsQueries, errors: stats.dnsErrors },
    data,
    events: events.map((e) => ({ atSec: Math.round((e.atMs - startedMs) / 100) / 10, kind: e.kind, detail: e.detail })),
  };
}

/** The report as text, every line within the view's 100 columns. */
export function renderReport(r: WorldReport): string {
  const pct = (x: number | null): string => (x === null ? '-' : `${Math.round(x * 100)}%`);
  const ms = (x: number | null): string => (x === null ? '-' : `${Math.round(x)}ms`);
  const line = (name: string, g: GroupReport): string =>
    `${name.padEnd(16)} ${String(g.requests).padStart(8)} ${String(g.errors).padStart(7)} ${ms(g.p50Ms).padStart(7)} ${ms(g.p99Ms).padStart(7)} ${pct(g.nearestShare).padStart(8)}`;
  const head = (title: string): string => `${title.padEnd(16)} ${'requests'.padStart(8)} ${'errors'.padStart(7)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'nearest'.padStart(8)}`;
  const out = [
    `report (${r.durationSec}s):`,
    head('by region'),
    ...Object.entries(r.regions).map(([id, g]) => line(id, g)),
    head('by continent'),
    ...Object.entries(r.continents).map(([c, g]) => line(c, g)),
  ];
  if (Object.keys(r.ops).length > 0) out.push(head('by request'), ...Object.entries(r.ops).map(([op, g]) => line(op, g)));
  out.push(line('total', r.total), `dns: ${r.dns.queries} queries, ${r.dns.errors} errors`);
  if (r.data !== null) out.push(...renderDataReport(r.data));
  return out.join('\n');
}

const maxLagLines = 30;

function renderDataReport(d: DataReport): string[] {
  const n = (x: number | null): string => (x === null ? '-' : String(x));
  const ms = (x: number | null): string => (x === null ? '-' : `${Math.round(x)}ms`);
  const out = [`data: ${n(d.writesCommitted)} writes committed (${n(d.writesPerSec)}/s); conflicts resolved (last writer wins): ${n(d.conflicts)}`];
  // Per region, wrapped at the view's width rather than cut.
  let line = '  by region:';
  for (const [id, x] of Object.entries(d.byRegion)) {
    const item = ` ${id} ${n(x.writesCommitted)}`;
    if (line.length + item.length + 1 > 100) {
      out.push(line);
      line = '  ';
    }
    line += line.trim() === '' || line.endsWith(':') ? item : `,${item}`;
  }
  out.push(line);
  // The slowest pairs first; a big world's full list is in report.json.
  const pairs = Object.entries(d.lagMs).sort(([, a], [, b]) => (b.p99MaxMs ?? -1) - (a.p99MaxMs ?? -1));
  if (pairs.length === 0) return [...out, 'replication lag: no node reported any (-)'];
  out.push(`${'replication lag'.padEnd(36)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max p99'.padStart(8)}`);
  if (pairs.length > maxLagLines) out.push(`  (the ${maxLagLines} slowest of ${pairs.length} pairs; all in report.json)`);
  for (const [pair, c] of pairs.slice(0, maxLagLines)) out.push(`${pair.replace('->', ' -> ').padEnd(36)} ${ms(c.p50Ms).padStart(8)} ${ms(c.p99Ms).padStart(8)} ${ms(c.p99MaxMs).padStart(8)}`);
  return out;
}
