// The live terminal view, redrawn every second. PURE: a snapshot in, text out, every
// line at most viewWidth columns.

import type { DataSnapshot } from './data-monitor.js';
import { renderLagMatrix } from './lag-matrix.js';
import type { GroupStats } from './stats.js';

export const viewWidth = 100;

export interface ViewRow {
  readonly region: string;
  readonly health: string;
  readonly window: GroupStats | undefined;
}

export interface ViewSnapshot {
  readonly elapsedSec: number;
  readonly durationSec: number | null;
  readonly users: number;
  readonly rows: readonly ViewRow[];
  readonly total: GroupStats;
  readonly windowSec: number;
  readonly lastEvents: readonly string[];
  readonly control: string;
  /** The nodes' data: writes/s, the lag matrix, conflicts. Absent: the columns show '-'. */
  readonly data?: DataSnapshot;
}

const fmtMs = (x: number | null): string => (x === null ? '-' : x < 10 ? `${x.toFixed(1)}ms` : `${Math.round(x)}ms`);
const fmtRate = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toFixed(1));
const clock = (s: number): string => `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

export function renderView(s: ViewSnapshot): string {
  const head = `meridian dev — ${s.rows.length} regions, ${s.users} users, ${clock(s.elapsedSec)}${s.durationSec === null ? '' : ` of ${clock(s.durationSec)}`}   (Ctrl-C stops the world)`;
  const cols = ['region', 'health', 'users', 'req/s', 'p50', 'p99', 'errors/s', 'writes/s'];
  const w = [16, 10, 6, 7, 8, 8, 8, 8];
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join(' ');
  const row = (name: string, health: string, g: GroupStats | undefined, writesPerSec: number | null | undefined): string =>
    line([
      name,
      health,
      String(g?.users.size ?? 0),
      ((g?.windowRequests ?? 0) / s.windowSec).toFixed(1),
      fmtMs(g?.window.quantile(0.5) ?? null),
      fmtMs(g?.window.quantile(0.99) ?? null),
      ((g?.windowErrors ?? 0) / s.windowSec).toFixed(1),
      fmtRate(writesPerSec),
    ]);
  const out = [
    head,
    '',
    line(cols),
    ...s.rows.map((r) => row(r.region, r.health, r.window, s.data?.writesPerSec.get(r.region))),
    row('total', '', s.total, s.data?.totalWritesPerSec),
    '',
  ];
  if (s.data !== undefined) {
    out.push(...renderLagMatrix(s.data.matrix, viewWidth));
    out.push(`conflicts resolved (last writer wins): ${s.data.conflictsTotal ?? '-'}`, '');
  }
  if (s.lastEvents.length > 0) out.push('events:', ...s.lastEvents.map((e) => `  ${e}`.slice(0, viewWidth)), '');
  out.push('latency is what users see: their own link (fibre estimate from their city) plus the region;');
  out.push(`writes/s: writes committed by the region's node; control: ${s.control}`);
  return out.join('\n');
}
