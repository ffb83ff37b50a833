// What must hold in a simulated world. Step invariants run after every event a region
// handled (on that region); final invariants run once the world has healed and gone
// quiet. Each returns what is wrong, in words, or nothing.
//
// Step invariants are made fresh per run (`stepInvariants()`): some keep ghost state —
// what a region issued before it crashed — that no region could lie about.

import { compareHlc, formatHlc, type Hlc } from '../../src/lib/index.js';
import type { Disk } from './memory-store.js';
import { describeCounterexample } from '../../src/world/index.js';
import type { StrongHistory } from './history.js';
import type { Ledger } from './ledger.js';
import type { Residency } from './residency.js';
import type { CommittedWrite } from './world.js';

/** What invariants may look at: the disks (what a crash keeps), not the actors. */
export interface WorldView {
  readonly residency: Residency;
  readonly regions: readonly string[];
  readonly disks: ReadonlyMap<string, Disk>;
  readonly ledger: Ledger;
  readonly history: StrongHistory;
  /** Ghost: every home-row write a leader committed (acknowledged or not). */
  readonly committed: readonly CommittedWrite[];
}

export type StepInvariant = (w: WorldView, region: string) => string | null;
export type FinalInvariant = (w: WorldView) => string[];

const disk = (w: WorldView, region: string): Disk => w.disks.get(region) as Disk;

/** No row on a region its home's jurisdiction forbids (DESIGN §5, residency). */
export const residency: StepInvariant = (w, region) => {
  for (const r of disk(w, region).rows.values()) {
    if (!w.residency.mayStoreAt(region, r.table, r.home)) return `residency: ${region} holds ${r.table}/${r.key} homed in ${r.home ?? '(global)'}`;
  }
  for (const c of disk(w, region).log) {
    if (c.kind === 'row' && !w.residency.mayStoreAt(region, c.table, c.home)) return `residency: ${region} logged ${c.table}/${c.key} homed in ${c.home ?? '(global)'}`;
  }
  return null;
};

/** A region's own versions only go up, across crashes too: else LWW could let an older
 *  write win over a newer one from the same region. */
function versionsOnlyGrow(): StepInvariant {
  const seen = new Map<string, { seq: number; version: Hlc | null }>();
  return (w, region) => {
    const g = seen.get(region) ?? { seq: 0, version: null };
    for (const c of disk(w, region).log) {
      if (c.seq <= g.seq) continue;
      if (c.version.region !== region) return `versions: ${region} logged a change with a version from ${c.version.region}`;
      if (g.version !== null && compareHlc(c.version, g.version) <= 0) return `versions: ${region} issued ${formatHlc(c.version)} after ${formatHlc(g.version)}`;
      g.seq = c.seq;
      g.version = c.version;
    }
    seen.set(region, g);
    return null;
  };
}

/** An inbound watermark never moves back: what was applied stays applied. */
function watermarksOnlyGrow(): StepInvariant {
  const seen = new Map<string, number>();
  return (w, region) => {
    for (const [source, m] of disk(w, region).inbound) {
      const k = `${region}\0${source}`;
      const before = seen.get(k) ?? 0;
      if (m.applied < before) return `watermark: ${region}'s mark for ${source} went back from ${before} to ${m.applied}`;
      seen.set(k, m.applied);
    }
    return null;
  };
}

export function stepInvariants(): StepInvariant[] {
  return [residency, versionsOnlyGrow(), watermarksOnlyGrow()];
}

// ---- at the end, healed and quiet

/** Every region allowed a row holds the same version of it; counters' slots agree. */
const converged: FinalInvariant = (w) => {
  const problems: string[] = [];
  const holders = (home: string | null): readonly string[] => (home === null ? w.regions : w.residency.allowedFor(home));
  const keys = new Map<string, string | null>();
  for (const r of w.regions) for (const [id, row] of disk(w, r).rows) keys.set(id, row.home);
  for (const [id, home] of keys) {
    const versions = holders(home).map((r) => {
      const row = disk(w, r).rows.get(id);
      return row === undefined ? `${r}: missing` : `${r}: ${formatHlc(row.version)}=${row.value ?? 'deleted'}`;
    });
    const distinct = new Set(versions.map((v) => v.slice(v.indexOf(':'))));
    if (distinct.size > 1) problems.push(`convergence: ${id.replace('\0', '/')} differs: ${versions.join(', ')}`);
  }
  const slots = new Set<string>();
  for (const r of w.regions) for (const id of disk(w, r).slots.keys()) slots.add(id);
  for (const id of slots) {
    const seen = w.regions.map((r) => {
      const s = disk(w, r).slots.get(id);
      return s === undefined ? 'missing' : `${s.p}-${s.n}`;
    });
    if (new Set(seen).size > 1) problems.push(`convergence: counter slot ${id.replaceAll('\0', '/')} differs: ${w.regions.map((r, i) => `${r}: ${seen[i] ?? ''}`).join(', ')}`);
  }
  return problems;
};

/** An acknowledged write is in every region allowed to hold it, or a later version is. */
const noAcknowledgedWriteLost: FinalInvariant = (w) => {
  const problems: string[] = [];
  for (const a of w.ledger.rows) {
    for (const r of a.home === null ? w.regions : w.residency.allowedFor(a.home)) {
      const row = disk(w, r).rows.get(`${a.table}\0${a.key}`);
      const c = row === undefined ? -1 : compareHlc(row.version, a.version);
      if (c < 0 || (c === 0 && row?.value !== a.value)) {
        problems.push(`lost write: ${a.table}/${a.key}=${a.value} (${formatHlc(a.version)}, acknowledged by ${a.region} at ${a.ackMs} ms) is not at ${r}, which holds ${row === undefined ? 'nothing' : formatHlc(row.version)}`);
      }
    }
  }
  return problems;
};

/** Counters equal the acknowledged increments, plus any of the unanswered ones. */
const countersAddUp: FinalInvariant = (w) => {
  const problems: string[] = [];
  for (const [k, c] of w.ledger.counters) {
    for (const r of w.regions) {
      let v = 0;
      for (const s of disk(w, r).slots.values()) if (`${s.table}\0${s.key}` === k) v += s.p - s.n;
      if (v < c.acked || v > c.acked + c.unknown) problems.push(`counter ${k.replace('\0', '/')} at ${r} is ${v}; acknowledged ${c.acked}, unanswered ${c.unknown}`);
    }
  }
  return problems;
};

const strongHistoryLinearizable: FinalInvariant = (w) => {
  const r = w.history.check();
  if (r.verdict === 'linearizable') return [];
  if (r.verdict === 'unknown') return [`linearizability could not be decided: ${r.reason}`];
  return [describeCounterexample(r.counterexample)];
};

/**
 * Failover may drop writes that were never acknowledged, but never silently: a committed
 * home-row write that is not in the history of its row's final value (its chain of `prev`
 * versions) must be in some region's lost writes. (That none of them was acknowledged is
 * noAcknowledgedWriteLost's check.)
 */
const droppedWritesListed: FinalInvariant = (w) => {
  const problems: string[] = [];
  const prevOf = new Map<string, Hlc | null>();
  const vkey = (id: string, v: Hlc): string => `${id}\0${formatHlc(v)}`;
  for (const c of w.committed) if (c.change.kind === 'row') prevOf.set(vkey(`${c.change.table}\0${c.change.key}`, c.change.version), c.change.prev);
  const listed = new Set<string>();
  for (const r of w.regions) for (const l of disk(w, r).lostWrites) listed.add(vkey(`${l.row.table}\0${l.row.key}`, l.row.version));
  const lineage = finalLineages(w, prevOf, vkey);
  for (const c of w.committed) {
    if (c.change.kind !== 'row' || c.change.home === null) continue;
    const id = `${c.change.table}\0${c.change.key}`;
    const line = lineage.get(id) ?? new Set<string>();
    const k = vkey(id, c.change.version);
    // An acknowledged write is in its row's history (later versions alone prove nothing
    // after a failover: they may have been written without it).
    if (!line.has(k) && w.ledger.rows.some((a) => a.home !== null && `${a.table}\0${a.key}` === id && compareHlc(a.version, c.change.version) === 0)) {
      problems.push(`acknowledged write lost: ${id.replace('\0', '/')}=${c.change.value ?? 'deleted'} (${formatHlc(c.change.version)}), written by ${c.region} under epoch ${c.epoch}, is not in the history of the row's final value${listed.has(k) ? ' (it is in a lost-writes list, marked unacknowledged)' : ''}`);
    } else if (!line.has(k) && !listed.has(k) && !supersededBySameLeader(w, c)) problems.push(`silently dropped: ${id.replace('\0', '/')}=${c.change.value ?? 'deleted'} (${formatHlc(c.change.version)}), written by ${c.region} under epoch ${c.epoch}, is neither in the row's final history nor in any lost-writes list`);
  }
  return problems;
};

/** Each home row's final value's history: its version and its chain of `prev` versions. */
function finalLineages(w: WorldView, prevOf: ReadonlyMap<string, Hlc | null>, vkey: (id: string, v: Hlc) => string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const c of w.committed) {
    if (c.change.kind !== 'row' || c.change.home === null) continue;
    const id = `${c.change.table}\0${c.change.key}`;
    if (out.has(id)) continue;
    const line = new Set<string>();
    const final = disk(w, w.residency.allowedFor(c.change.home)[0] ?? c.change.home).rows.get(id);
    for (let v: Hlc | null | undefined = final?.version; v !== null && v !== undefined && !line.has(vkey(id, v)); v = prevOf.get(vkey(id, v))) line.add(vkey(id, v));
    out.set(id, line);
  }
  return out;
}

/** An unacknowledged write its own leader overwrote under the same epoch: the later one
 *  stands for it (and is the one reconciliation lists if the failover drops it). */
function supersededBySameLeader(w: WorldView, c: CommittedWrite): boolean {
  if (c.change.kind !== 'row') return false;
  const ch = c.change;
  return w.committed.some((o) => o.region === c.region && o.epoch === c.epoch && o.change.kind === 'row' && o.change.table === ch.table && o.change.key === ch.key && o.change.prev !== null && compareHlc(o.change.prev, ch.version) === 0);
}

const residencyEverywhere: FinalInvariant = (w) => w.regions.map((r) => residency(w, r)).filter((p): p is string => p !== null);

export const finalInvariants: readonly FinalInvariant[] = [residencyEverywhere, converged, noAcknowledgedWriteLost, droppedWritesListed, countersAddUp, strongHistoryLinearizable];
