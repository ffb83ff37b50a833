// The replication lag matrix: for every ordered pair of regions, how far behind the
// destination applies what the source committed (p50 and p99, as the destination's node
// measures it). PURE: the nodes' data statuses in, the matrix and its text out.

import type { NodeDataStatus } from './data-status.js';

export interface LagCell {
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface LagMatrix {
  readonly regions: readonly string[];
  /** cells[to][from]: the lag of changes from `regions[from]` applied in `regions[to]`; null when unknown (and on the diagonal). */
  readonly cells: readonly (readonly (LagCell | null)[])[];
}

export function lagMatrix(regions: readonly string[], statuses: ReadonlyMap<string, NodeDataStatus | null>): LagMatrix {
  return {
    regions,
    cells: regions.map((to) => regions.map((from) => {
      if (from === to) return null;
      const l = statuses.get(to)?.inbound[from];
      return l === undefined ? null : { p50Ms: l.lagMsP50, p99Ms: l.lagMsP99 };
    })),
  };
}

/** Every known pair as `from->to`, for the JSON report. */
export function lagPairs(m: LagMatrix): Record<string, LagCell> {
  const out: Record<string, LagCell> = {};
  m.regions.forEach((to, i) => m.regions.forEach((from, j) => {
    const c = m.cells[i]?.[j];
    if (c !== null && c !== undefined) out[`${from}->${to}`] = c;
  }));
  return out;
}

const fmt = (ms: number | null): string => (ms === null ? '-' : ms >= 10_000 ? `${Math.round(ms / 1000)}s` : String(Math.round(ms)));
const cellText = (c: LagCell | null | undefined): string => (c === null || c === undefined || (c.p50Ms === null && c.p99Ms === null) ? '-' : `${fmt(c.p50Ms)}/${fmt(c.p99Ms)}`);

const labelWidth = 18;
const cellWidth = 10;
/** Pairs listed when the matrix is too wide to draw. */
const worstPairs = 8;

/**
 * The matrix as text at most `width` columns wide: rows are the regions applying,
 * columns (numbered as the rows) the regions that wrote. Too many regions for a grid of
 * that width: the pairs with the highest p99 instead, one a line.
 */
export function renderLagMatrix(m: LagMatrix, width = 100): string[] {
  const title = 'replication lag, ms p50/p99';
  if (m.regions.length < 2) return [`${title}: one region, nothing to replicate`];
  if (labelWidth + m.regions.length * cellWidth <= width) {
    const head = `${''.padEnd(labelWidth)}${m.regions.map((_, j) => `from ${j + 1}`.padStart(cellWidth)).join('')}`;
    const rows = m.regions.map((to, i) => {
      const label = `${i + 1} ${to}`.slice(0, labelWidth - 1).padEnd(labelWidth);
      return `${label}${m.regions.map((_, j) => (i === j ? '·' : cellText(m.cells[i]?.[j])).padStart(cellWidth)).join('')}`;
    });
    return [`${title} (row: applied in; column: written in)`, head, ...rows];
  }
  const pairs = Object.entries(lagPairs(m))
    .filter(([, c]) => c.p99Ms !== null || c.p50Ms !== null)
    .sort(([, a], [, b]) => (b.p99Ms ?? b.p50Ms ?? 0) - (a.p99Ms ?? a.p50Ms ?? 0));
  if (pairs.length === 0) return [`${title}: no region reports replication yet (-)`];
  return [
    `${title}, the ${Math.min(worstPairs, pairs.length)} slowest of ${pairs.length} pairs:`,
    ...pairs.slice(0, worstPairs).map(([pair, c]) => `  ${pair.replace('->', ' -> ').padEnd(36)}${cellText(c).padStart(12)}`.slice(0, width)),
  ];
}
