// The newest entries of the change log, in memory. Every destination that keeps up with
// this region reads the same few entries, once per destination: served from here they
// cost neither a query nor a new object each (bench/data: reading the log was 7% of a
// replicating source's CPU, and each entry was built once per destination).
//
// Bounded by count and by the bytes of the values it holds, so large rows do not make the
// tail large; older entries are read from SQLite as before. Entries every destination has
// been sent are released at once (`release`): kept only while they may still be read, they
// die young in V8's heap instead of being promoted and swept from the old generation
// (bench/data: the set of 3's source spent 14.5% of its CPU in GC with 4,096 entries held).

import type { LoggedChange } from './types.js';

export const tailMaxEntries = 4096;
export const tailMaxBytes = 4 * 1024 * 1024;

export class LogTail {
  private entries: LoggedChange[] = [];
  private head = 0;
  private bytes = 0;

  /** Entries of one committed transaction, in sequence order, following the last ones. */
  push(committed: readonly LoggedChange[]): void {
    for (const c of committed) {
      const last = this.entries[this.entries.length - 1];
      // A gap (the log was written some other way) starts the tail afresh.
      if (last !== undefined && c.seq !== last.seq + 1) this.clear();
      this.entries.push(c);
      this.bytes += sizeOf(c);
    }
    while (this.entries.length - this.head > tailMaxEntries || (this.bytes > tailMaxBytes && this.entries.length - this.head > 1)) this.dropFirst();
    this.compact();
  }

  /** Forgets the entries up to `seq` (every reader is past them); later reads of them go to SQLite. */
  release(seq: number): void {
    while (this.head < this.entries.length && (this.entries[this.head] as LoggedChange).seq <= seq) this.dropFirst();
    this.compact();
  }

  private dropFirst(): void {
    const first = this.entries[this.head] as LoggedChange;
    this.bytes -= sizeOf(first);
    // The slot is cleared, not just skipped: a held reference would keep the entry alive.
    (this.entries as (LoggedChange | undefined)[])[this.head] = undefined;
    this.head++;
  }

  /** Drops the released prefix now and then, not on every call (an O(n) copy). */
  private compact(): void {
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Up to `limit` entries after `seq`, or undefined if the tail does not reach back that far. */
  after(seq: number, limit: number): LoggedChange[] | undefined {
    const first = this.entries[this.head];
    if (first === undefined || seq + 1 < first.seq) return undefined;
    const from = this.head + (seq + 1 - first.seq);
    return this.entries.slice(from, from + limit);
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.length - this.head;
  }
}

function sizeOf(c: LoggedChange): number {
  return 200 + c.key.length + (c.kind === 'row' ? (c.value?.length ?? 0) : 0);
}
