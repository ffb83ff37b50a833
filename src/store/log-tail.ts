// The newest entries of the change log, in memory. Every destination that keeps up with
// this region reads the same few entries, once per destination: served from here they
// cost neither a query nor a new object each (bench/data: reading the log was 7% of a
// replicating source's CPU, and each entry was built once per destination).
//
// Bounded by count and by the bytes of the values it holds, so large rows do not make the
// tail large; older entries are read from SQLite as before.

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
    while (this.entries.length - this.head > tailMaxEntries || (this.bytes > tailMaxBytes && this.entries.length - this.head > 1)) {
      this.bytes -= sizeOf(this.entries[this.head] as LoggedChange);
      this.head++;
    }
    // Drop the evicted prefix now and then, not on every push (an O(n) copy).
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
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
