// What clients were told: every acknowledged write, for the end-of-run checks (nothing
// acknowledged is lost; counters add up). Kept outside the regions — it is the clients'
// memory, not anything a crash can touch.

import type { Hlc } from '../../src/lib/index.js';

export interface AckedRowWrite {
  readonly table: string;
  readonly key: string;
  readonly value: string;
  readonly version: Hlc;
  /** null for a global table. */
  readonly home: string | null;
  readonly region: string;
  readonly ackMs: number;
}

export class Ledger {
  readonly rows: AckedRowWrite[] = [];
  /** Per counter (table\0key): increments acknowledged, and sent but never answered. */
  readonly counters = new Map<string, { acked: number; unknown: number }>();

  counter(table: string, key: string): { acked: number; unknown: number } {
    const k = `${table}\0${key}`;
    let c = this.counters.get(k);
    if (c === undefined) this.counters.set(k, (c = { acked: 0, unknown: 0 }));
    return c;
  }
}
