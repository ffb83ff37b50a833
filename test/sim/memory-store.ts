// One region's store, in memory: the model of src/store/store.ts that the simulator runs
// instead of SQLite. It keeps the same rules — versions from the region's HLC, merges by
// src/store/merge.ts (LWW rows, max-merged counter slots), a change log with sequence
// numbers, inbound watermarks written atomically with the batch they cover, residency
// refusals — so the replication cores meet the same store behaviour as in a node.
//
// What a crash keeps is exactly `Disk`: the world holds it across a region's restarts and
// throws everything else away (the HLC is rebuilt from the highest version on disk, as
// Store does).

import { assert, compareHlc, HlcClock, zeroHlc, type Hlc } from '../../src/lib/index.js';
import { mergeRow, mergeSlot, type Change, type CounterSlot, type LoggedChange, type StoredRow } from '../../src/store/index.js';

/** What survives a crash. Every commit and apply is durable when it returns (the real
 *  Store commits synchronously before it answers). */
export interface Disk {
  readonly rows: Map<string, StoredRow>;
  readonly slots: Map<string, CounterSlot>;
  /** The change log from its first retained entry, in sequence order. */
  log: LoggedChange[];
  seq: number;
  readonly inbound: Map<string, { applied: number; sourceMs: number }>;
  readonly outboundAcks: Map<string, number>;
}

export function emptyDisk(): Disk {
  return { rows: new Map(), slots: new Map(), log: [], seq: 0, inbound: new Map(), outboundAcks: new Map() };
}

export const rowId = (table: string, key: string): string => `${table}\0${key}`;
const slotId = (table: string, key: string, slot: string): string => `${table}\0${key}\0${slot}`;

export class MemoryStore {
  readonly clock: HlcClock;

  constructor(
    readonly region: string,
    readonly disk: Disk,
    private readonly mayStore: (table: string, home: string | null) => boolean,
    maxClockOffsetMs: number,
  ) {
    let high: Hlc = zeroHlc;
    const consider = (v: Hlc): void => {
      if (compareHlc(v, high) > 0) high = v;
    };
    for (const r of disk.rows.values()) consider(r.version);
    for (const s of disk.slots.values()) consider(s.version);
    for (const c of disk.log) consider(c.version);
    this.clock = new HlcClock(region, maxClockOffsetMs, high);
  }

  get(table: string, key: string): StoredRow | undefined {
    return this.disk.rows.get(rowId(table, key));
  }

  firstSeq(): number {
    return this.disk.log[0]?.seq ?? this.disk.seq + 1;
  }

  lastSeq(): number {
    return this.disk.seq;
  }

  /** A local write of a row (a condition, if any, was checked by the caller). */
  put(table: string, key: string, value: string, home: string | null, nowMs: number): LoggedChange {
    assert(this.mayStore(table, home), `a local write at ${this.region} is one it may store`);
    const cur = this.get(table, key) ?? null;
    const version = this.clock.now(nowMs);
    const row: StoredRow = { table, key, value, version, home: cur?.home ?? home };
    this.disk.rows.set(rowId(table, key), row);
    return this.log({ kind: 'row', seq: 0, committedMs: nowMs, table, key, value, version, prev: cur?.version ?? null, home: row.home });
  }

  increment(table: string, key: string, by: number, nowMs: number): LoggedChange {
    const id = slotId(table, key, this.region);
    const cur = this.disk.slots.get(id);
    const p = (cur?.p ?? 0) + Math.max(0, by);
    const n = (cur?.n ?? 0) + Math.max(0, -by);
    const version = this.clock.now(nowMs);
    this.disk.slots.set(id, { table, key, slot: this.region, p, n, version });
    return this.log({ kind: 'counter', seq: 0, committedMs: nowMs, table, key, slot: this.region, p, n, version });
  }

  counter(table: string, key: string): number {
    let v = 0;
    for (const s of this.disk.slots.values()) if (s.table === table && s.key === key) v += s.p - s.n;
    return v;
  }

  private log(c: LoggedChange): LoggedChange {
    const logged = { ...c, seq: ++this.disk.seq };
    this.disk.log.push(logged);
    return logged;
  }

  /**
   * Merges changes from elsewhere, all or nothing, with the source's watermark when given
   * (a batch is applied exactly once). Throws ClockOffsetError like Store.apply: nothing of
   * the batch is written then.
   */
  apply(changes: readonly Change[], nowMs: number, watermark?: { source: string; applied: number; sourceMs: number }): { applied: number; refused: number } {
    const rows = new Map<string, StoredRow>();
    const slots = new Map<string, CounterSlot>();
    let applied = 0;
    let refused = 0;
    for (const c of changes) {
      if (!this.mayStore(c.table, c.kind === 'row' ? c.home : null)) {
        refused++;
        continue;
      }
      this.clock.observe(c.version, nowMs);
      if (c.kind === 'counter') {
        const id = slotId(c.table, c.key, c.slot);
        const cur = slots.get(id) ?? this.disk.slots.get(id) ?? null;
        const m = mergeSlot(cur, c);
        if (!m.changed) continue;
        const version = cur !== null && compareHlc(cur.version, c.version) > 0 ? cur.version : c.version;
        slots.set(id, { table: c.table, key: c.key, slot: c.slot, p: m.p, n: m.n, version });
      } else {
        const id = rowId(c.table, c.key);
        const cur = rows.get(id) ?? this.disk.rows.get(id) ?? null;
        if (!mergeRow(cur?.version ?? null, c.version, c.prev).take) continue;
        rows.set(id, { table: c.table, key: c.key, value: c.value, version: c.version, home: c.home });
      }
      applied++;
    }
    // The "transaction" commits here: nothing above touched the disk.
    for (const [id, r] of rows) this.disk.rows.set(id, r);
    for (const [id, s] of slots) this.disk.slots.set(id, s);
    if (watermark !== undefined) this.disk.inbound.set(watermark.source, { applied: watermark.applied, sourceMs: watermark.sourceMs });
    return { applied, refused };
  }

  /** Log entries firstSeq..lastSeq (the caller checked the log still holds them). */
  changesBetween(firstSeq: number, lastSeq: number): LoggedChange[] {
    const start = this.firstSeq();
    return this.disk.log.slice(firstSeq - start, lastSeq - start + 1);
  }

  truncateLog(upTo: number): void {
    const start = this.firstSeq();
    if (upTo >= start) this.disk.log = this.disk.log.slice(upTo - start + 1);
  }

  /** Everything `dest` may store, as changes: a snapshot's pages, in one piece here. */
  snapshotFor(mayStoreAt: (table: string, home: string | null) => boolean): Change[] {
    const out: Change[] = [];
    for (const r of this.disk.rows.values()) if (mayStoreAt(r.table, r.home)) out.push({ kind: 'row', table: r.table, key: r.key, value: r.value, version: r.version, prev: null, home: r.home });
    for (const s of this.disk.slots.values()) if (mayStoreAt(s.table, null)) out.push({ kind: 'counter', table: s.table, key: s.key, slot: s.slot, p: s.p, n: s.n, version: s.version });
    return out;
  }
}
