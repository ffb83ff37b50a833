// What the store holds and hands out. A row is (table, key) -> JSON text with a version
// (HLC) and, for home tables, a home region; a counter is one slot per region that
// incremented it. Deletes leave tombstones (value null) so that last-writer-wins can
// order a delete against a concurrent put.

import type { Hlc } from '../lib/index.js';

export interface StoredRow {
  readonly table: string;
  readonly key: string;
  /** JSON text; null for a tombstone (a deleted row). */
  readonly value: string | null;
  readonly version: Hlc;
  /** Home tables: the row's home region. Global tables: null. */
  readonly home: string | null;
  /** The leadership epoch of the home partition it was written under (0: none). */
  readonly epoch?: number;
}

/** One region's share of a counter: increments (p) and decrements (n), both only grow. */
export interface CounterSlot {
  readonly table: string;
  readonly key: string;
  readonly slot: string;
  readonly p: number;
  readonly n: number;
  readonly version: Hlc;
}

/** A row change as it travels: the new state and the version it replaced at its origin
 *  (how a receiver tells a concurrent write, a conflict, from a later one). */
export interface RowChange {
  readonly kind: 'row';
  readonly table: string;
  readonly key: string;
  readonly value: string | null;
  readonly version: Hlc;
  readonly prev: Hlc | null;
  readonly home: string | null;
  /** The leadership epoch it was written under: replicas refuse epochs older than the
   *  newest they know for the row's home partition (fencing). Absent: 0. */
  readonly epoch?: number;
}

/** A counter change carries the slot's totals, not the delta: applying it twice, or an
 *  older one after a newer one, changes nothing (merge by max). */
export interface CounterChange {
  readonly kind: 'counter';
  readonly table: string;
  readonly key: string;
  readonly slot: string;
  readonly p: number;
  readonly n: number;
  readonly version: Hlc;
}

export type Change = RowChange | CounterChange;

/** A change in this region's log: its sequence number and when it was committed (ms). */
export type LoggedChange = Change & { readonly seq: number; readonly committedMs: number };

/** A write to run at this region (it is the row's home, the table's primary, or the table
 *  takes writes anywhere). */
export type LocalWrite =
  | { readonly op: 'put'; readonly table: string; readonly key: string; readonly value: string; readonly home: string | null; readonly ifVersion?: Hlc | 'absent'; readonly epoch?: number }
  | { readonly op: 'delete'; readonly table: string; readonly key: string; readonly home: string | null; readonly ifVersion?: Hlc | 'absent'; readonly epoch?: number }
  | { readonly op: 'increment'; readonly table: string; readonly key: string; readonly by: number };

export type WriteOutcome =
  | { readonly ok: true; readonly change: LoggedChange; readonly row?: StoredRow; readonly counter?: number }
  | { readonly ok: false; readonly reason: 'version_conflict'; readonly current: StoredRow | null }
  /** The idempotency key was seen before (a retry racing its original): nothing was
   *  applied, and this is the answer the original got. */
  | { readonly ok: false; readonly reason: 'duplicate'; readonly status: number; readonly body: string };

/** A conflict that last-writer-wins resolved: which version won, which lost. No values:
 *  the sample must not copy data anywhere it would not otherwise be. */
export interface ResolvedConflict {
  readonly table: string;
  readonly key: string;
  readonly winner: Hlc;
  readonly loser: Hlc;
  readonly atMs: number;
}

export interface ApplyOutcome {
  readonly applied: number;
  readonly skipped: number;
  /** Changes refused for an epoch older than the partition's newest known (fencing). */
  readonly fenced: number;
  readonly conflicts: readonly ResolvedConflict[];
}

/** The anti-entropy unit: rows of one table and one home (or every row of a global
 *  table), split by a hash of the key into buckets. */
export interface DigestClass {
  readonly table: string;
  readonly home: string | null;
}

/** What a row or slot looks like in a digest comparison: enough to tell who is newer. */
export interface DigestEntry {
  readonly key: string;
  readonly slot: string | null;
  readonly version: Hlc;
}
