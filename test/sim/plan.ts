// What a seed makes happen: the clients' operations and the fault schedule, drawn up
// front so that a run's inputs can be read (and shrunk by hand) apart from its execution.

import { coordinatorId, type ClientRequest, type StrongOp } from './protocol.js';
import type { RegisterValue } from '../../src/world/index.js';

export interface PlannedOp {
  readonly atMs: number;
  readonly client: string;
  /** Where the client sends it: any region for global tables, the home for strong ones. */
  readonly region: string;
  readonly request: ClientRequest;
}

export type FaultEvent =
  | { readonly kind: 'crash'; readonly atMs: number; readonly region: string }
  | { readonly kind: 'restart'; readonly atMs: number; readonly region: string }
  | { readonly kind: 'partition'; readonly atMs: number; readonly sideA: readonly string[]; readonly sideB: readonly string[] }
  | { readonly kind: 'heal_partitions'; readonly atMs: number }
  /** The region's clock moves by jumpMs (either way). */
  | { readonly kind: 'skew'; readonly atMs: number; readonly region: string; readonly jumpMs: number }
  /** The coordinator answers nothing until untilMs: leases run out meanwhile. */
  | { readonly kind: 'coord_pause'; readonly atMs: number; readonly untilMs: number };

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

/**
 * Writes to a global `writes: anywhere` table (profiles) from any region, increments of a
 * counter (likes), and strong reads, writes and compare-and-sets of home rows (accounts)
 * at their home — a few keys each, so that writes collide.
 */
export function planWorkload(rand: () => number, regions: readonly string[], o: { readonly ops: number; readonly faultsEndMs: number }): PlannedOp[] {
  const ops: PlannedOp[] = [];
  const written = new Map<string, string[]>();
  for (let i = 0; i < o.ops; i++) {
    const atMs = Math.floor(rand() * o.faultsEndMs);
    const client = `client-${i % 6}`;
    const kind = rand();
    if (kind < 0.35) {
      ops.push({ atMs, client, region: pick(rand, regions), request: { kind: 'put', table: 'profiles', key: `p${Math.floor(rand() * 4)}`, value: `v${i}` } });
    } else if (kind < 0.55) {
      ops.push({ atMs, client, region: pick(rand, regions), request: { kind: 'increment', table: 'likes', key: `l${Math.floor(rand() * 2)}`, by: 1 + Math.floor(rand() * 3) } });
    } else {
      const home = pick(rand, regions);
      const key = `a-${home}-${Math.floor(rand() * 2)}`;
      const seen = written.get(key) ?? [];
      const which = rand();
      let op: StrongOp;
      if (which < 0.4) op = { kind: 'read', key };
      else if (which < 0.75) {
        op = { kind: 'write', key, value: `s${i}` };
        written.set(key, [...seen, `s${i}`]);
      } else {
        const expected: RegisterValue = seen.length === 0 || rand() < 0.2 ? null : pick(rand, seen);
        op = { kind: 'cas', key, expected, value: `s${i}` };
        written.set(key, [...seen, `s${i}`]);
      }
      // Sent to any region: one that does not lead forwards it to the leader it knows.
      ops.push({ atMs, client, region: pick(rand, regions), request: { kind: 'strong', table: 'accounts', home, op } });
    }
  }
  return ops;
}

/** Crashes with restarts, partitions with heals, clock jumps — all before `faultsEndMs`;
 *  the world heals whatever is left then. */
export function planFaults(rand: () => number, regions: readonly string[], o: { readonly faultsEndMs: number; readonly maxClockJumpMs: number }): FaultEvent[] {
  const out: FaultEvent[] = [];
  const window = (maxMs: number): { atMs: number; untilMs: number } => {
    const atMs = Math.floor(rand() * o.faultsEndMs);
    return { atMs, untilMs: atMs + 20 + Math.floor(rand() * maxMs) };
  };
  for (let n = Math.floor(rand() * 4); n > 0; n--) {
    const region = pick(rand, regions);
    const w = window(900);
    out.push({ kind: 'crash', atMs: w.atMs, region }, { kind: 'restart', atMs: w.untilMs, region });
  }
  for (let n = Math.floor(rand() * 3); n > 0; n--) {
    // The coordinator is on one side or the other: a leader cut off from it must stop
    // serving before anyone else can take over.
    const shuffled = [...regions, coordinatorId].sort(() => rand() - 0.5);
    const cut = 1 + Math.floor(rand() * (regions.length - 1));
    const w = window(1000);
    out.push({ kind: 'partition', atMs: w.atMs, sideA: shuffled.slice(0, cut), sideB: shuffled.slice(cut) }, { kind: 'heal_partitions', atMs: w.untilMs });
  }
  for (let n = Math.floor(rand() * 3); n > 0; n--) {
    out.push({ kind: 'skew', atMs: Math.floor(rand() * o.faultsEndMs), region: pick(rand, regions), jumpMs: Math.round((rand() * 2 - 1) * o.maxClockJumpMs) });
  }
  // A region cut off from the coordinator alone; a coordinator outage (leases run out).
  for (let n = Math.floor(rand() * 2); n > 0; n--) {
    const w = window(800);
    out.push({ kind: 'partition', atMs: w.atMs, sideA: [pick(rand, regions)], sideB: [coordinatorId] }, { kind: 'heal_partitions', atMs: w.untilMs });
  }
  if (rand() < 0.3) {
    const w = window(700);
    out.push({ kind: 'coord_pause', atMs: w.atMs, untilMs: w.untilMs });
  }
  return out;
}
