// How a change from another region meets the local copy. PURE.
//
// Rows: last writer wins by HLC (ties cannot happen: the region is part of the version).
// A conflict is two writes that did not see each other: the incoming change replaced a
// version (`prev`) that is not the one held here. Whichever wins, that is counted.
// Counter slots: each region only ever raises its own slot's p and n, so the merge is the
// maximum of each — any order, any number of times, the same result.

import { compareHlc, sameHlc, type Hlc } from '../lib/index.js';

export type RowMerge = { readonly take: boolean; readonly conflict: null | { readonly winner: Hlc; readonly loser: Hlc } };

/**
 * Home rows carry the leadership epoch they were written under, and a later epoch wins
 * whatever the clocks say: the new leader's history is the partition's history, and an old
 * leader's clock running ahead must not let its write override the new leader's.
 */
export function mergeRow(local: Hlc | null, incoming: Hlc, incomingPrev: Hlc | null, localEpoch = 0, incomingEpoch = 0): RowMerge {
  if (local === null) return { take: true, conflict: null };
  if (localEpoch !== incomingEpoch) return { take: incomingEpoch > localEpoch, conflict: null };
  const c = compareHlc(incoming, local);
  if (c === 0) return { take: false, conflict: null }; // already here
  // Two versions from one region are never concurrent: the later write saw the earlier.
  const concurrent = !sameHlc(incomingPrev, local) && local.region !== incoming.region;
  if (c > 0) return { take: true, conflict: concurrent ? { winner: incoming, loser: local } : null };
  return { take: false, conflict: concurrent ? { winner: local, loser: incoming } : null };
}

export function mergeSlot(local: { p: number; n: number } | null, incoming: { p: number; n: number }): { p: number; n: number; changed: boolean } {
  if (local === null) return { p: incoming.p, n: incoming.n, changed: true };
  const p = Math.max(local.p, incoming.p);
  const n = Math.max(local.n, incoming.n);
  return { p, n, changed: p !== local.p || n !== local.n };
}
