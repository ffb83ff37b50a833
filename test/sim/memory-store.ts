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
import { mergeRow, mergeSlot, PartitionUnreconciled, type Change, type CounterSlot, type DigestEntry, type LoggedChange, type StoredRow } from '../../src/store/index.js';

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
  /** Per home partition: the newest epoch known, the one this region led (led) and has not
   *  reconciled, and the first of that run of its own leads (ledSince) — Store's
   *  partition_epochs. */
  readonly epochs: Map<string, { epoch: number; led: number | null; ledSince?: number | null }>;
  /** A deposed leader's writes that reconciliation set aside — Store's lost_writes. */
  readonly lostWrites: LostWrite[];
  /** Ghost (not Store's): how many times rows or slots changed here; the world's
   *  anti-entropy quiet check compares it before and after a clean round. */
  writes: number;
}

export interface LostWrite {
  readonly partition: string;
  readonly epoch: number;
  readonly row: StoredRow;
  readonly acknowledged: boolean;
  readonly foundMs: number;
}

/** Ablations of Store's rules, for the tests that show the invariants catch their loss. */
export interface StoreFaults {
  /** Apply a log stream's changes whatever their epoch. */
  readonly skipFencing?: boolean;
  /** Store before the fix (README: findings #1): home rows merge by version alone, across
   *  epochs too. The default is src/store/merge.ts now: (epoch, version). */
  readonly versionOnlyMerge?: boolean;
  /** Store before the fix (README: findings #2): a deposed leader finds what it wrote under
   *  its old epoch in the change log (truncated once every peer acknowledged — fenced
   *  changes are acknowledged too), and its store applies changes of the partition before
   *  it has reconciled. The default is Store now: `rowsUnderEpoch`, and `apply` throws
   *  PartitionUnreconciled while partition_epochs.led < epoch. */
  readonly reconcileFromLog?: boolean;
  /** Store.apply now (README: findings #6, fixed): the unreconciled check also counts the
   *  incoming change's own epoch — a change newer than the epoch this region led under is
   *  refused even before the region has heard of that epoch. On unless false (false: the
   *  code before the fix, the epoch known only). */
  readonly refuseNewerEpochs?: boolean;
  /** Store before the fix of seed 17854: a reconcile compares the rows of the last epoch
   *  led only, not those of every epoch of the run of leads not yet reconciled. */
  readonly reconcileLastLedOnly?: boolean;
}

export function emptyDisk(): Disk {
  return { rows: new Map(), slots: new Map(), log: [], seq: 0, inbound: new Map(), outboundAcks: new Map(), epochs: new Map(), lostWrites: [], writes: 0 };
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
    private readonly faults: StoreFaults = {},
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
  put(table: string, key: string, value: string, home: string | null, nowMs: number, epoch = 0): LoggedChange {
    assert(this.mayStore(table, home), `a local write at ${this.region} is one it may store`);
    const cur = this.get(table, key) ?? null;
    const version = this.clock.now(nowMs);
    const ep = epoch > 0 ? { epoch } : {};
    const row: StoredRow = { table, key, value, version, home: cur?.home ?? home, ...ep };
    this.disk.rows.set(rowId(table, key), row);
    this.disk.writes++;
    return this.log({ kind: 'row', seq: 0, committedMs: nowMs, table, key, value, version, prev: cur?.version ?? null, home: row.home, ...ep });
  }

  // ---- leadership: epochs, reconciliation, lost writes (Store's rules)

  partitionEpoch(partition: string): { epoch: number; led: number | null } {
    const e = this.disk.epochs.get(partition);
    return e === undefined ? { epoch: 0, led: null } : { epoch: e.epoch, led: e.led };
  }

  raiseEpoch(partition: string, epoch: number): void {
    const cur = this.disk.epochs.get(partition) ?? { epoch: 0, led: null };
    if (epoch > cur.epoch) this.disk.epochs.set(partition, { ...cur, epoch });
  }

  /** Store.markLed: a new lead continues the run not yet reconciled, or starts one. */
  markLed(partition: string, epoch: number): void {
    const cur = this.disk.epochs.get(partition) ?? { epoch: 0, led: null };
    const ledSince = cur.led === null ? epoch : (cur.ledSince ?? cur.led);
    this.disk.epochs.set(partition, { epoch: Math.max(cur.epoch, epoch), led: epoch, ledSince });
  }

  /** Store.rowsOfOwnLeads: the partition's rows whose current version was written under an
   *  epoch of this region's run of leads not yet reconciled, ledSince..`epoch` (with
   *  `reconcileLastLedOnly`, `epoch` alone; with `reconcileFromLog`, the old rule: this
   *  region's logged row changes of that epoch, from the log as it is now — truncated
   *  entries are gone). */
  rowsOfOwnLeads(partition: string, epoch: number): StoredRow[] {
    if (this.faults.reconcileFromLog === true) {
      const out = new Map<string, StoredRow>();
      for (const c of this.disk.log) {
        if (c.kind !== 'row' || c.home !== partition || (c.epoch ?? 0) !== epoch || out.has(rowId(c.table, c.key))) continue;
        const mine = this.get(c.table, c.key);
        // Overwritten since (by the new leader): leaders.ts skipped it.
        if (mine !== undefined && (mine.epoch ?? 0) === epoch) out.set(rowId(c.table, c.key), mine);
      }
      return [...out.values()];
    }
    const since = this.faults.reconcileLastLedOnly === true ? epoch : (this.disk.epochs.get(partition)?.ledSince ?? epoch);
    return [...this.disk.rows.values()].filter((r) => r.home === partition && (r.epoch ?? 0) >= since && (r.epoch ?? 0) <= epoch);
  }

  /** A new leader, caught up, writes every row of the partition it holds from an older
   *  epoch again under its own (same value, a new version). NOT what src does: an opt-in
   *  (`relogOnTakeover`) the README's findings discuss. */
  relogPartition(partition: string, epoch: number, nowMs: number): LoggedChange[] {
    const out: LoggedChange[] = [];
    for (const r of [...this.disk.rows.values()]) {
      if (r.home !== partition || (r.epoch ?? 0) >= epoch || r.value === null) continue;
      out.push(this.put(r.table, r.key, r.value, r.home, nowMs, epoch));
    }
    return out;
  }

  /** Every row of a home partition, as changes (a catch-up or reconcile pull's answer). */
  partitionRows(partition: string): Change[] {
    const out: Change[] = [];
    for (const r of this.disk.rows.values()) if (r.home === partition) out.push({ kind: 'row', table: r.table, key: r.key, value: r.value, version: r.version, prev: null, home: r.home, ...(r.epoch !== undefined && { epoch: r.epoch }) });
    return out;
  }

  /** Store.reconcile: each item's row is replaced by the leader's (or removed) and kept
   *  in lost writes; bypasses last-writer-wins on purpose; clears `led`. */
  reconcile(partition: string, epoch: number, items: readonly { mine: StoredRow; theirs: StoredRow | null; acknowledged: boolean }[], nowMs: number): number {
    for (const { mine, theirs, acknowledged } of items) {
      this.disk.lostWrites.push({ partition, epoch: mine.epoch ?? epoch, row: mine, acknowledged, foundMs: nowMs });
      if (theirs !== null) {
        this.clock.observe(theirs.version, nowMs);
        this.disk.rows.set(rowId(theirs.table, theirs.key), theirs);
      } else this.disk.rows.delete(rowId(mine.table, mine.key));
    }
    const cur = this.partitionEpoch(partition);
    this.disk.epochs.set(partition, { epoch: cur.epoch, led: null, ledSince: null });
    if (items.length > 0) this.disk.writes++;
    return items.length;
  }

  increment(table: string, key: string, by: number, nowMs: number): LoggedChange {
    const id = slotId(table, key, this.region);
    const cur = this.disk.slots.get(id);
    const p = (cur?.p ?? 0) + Math.max(0, by);
    const n = (cur?.n ?? 0) + Math.max(0, -by);
    const version = this.clock.now(nowMs);
    this.disk.slots.set(id, { table, key, slot: this.region, p, n, version });
    this.disk.writes++;
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
   * (a batch is applied exactly once). Throws ClockOffsetError and PartitionUnreconciled
   * like Store.apply: nothing of the batch is written then.
   */
  apply(changes: readonly Change[], nowMs: number, watermark?: { source: string; applied: number; sourceMs: number }): { applied: number; refused: number } {
    const rows = new Map<string, StoredRow>();
    const slots = new Map<string, CounterSlot>();
    const epochs = new Map<string, number>();
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
        if (c.home !== null) {
          // A deposed leader's rows wait for its reconciliation (Store.apply): the epoch
          // as this transaction sees it, raises by earlier changes of the batch included.
          const pe = this.partitionEpoch(c.home);
          const known = Math.max(pe.epoch, epochs.get(c.home) ?? 0);
          const e = c.epoch ?? 0;
          const newest = this.faults.refuseNewerEpochs !== false ? Math.max(known, e) : known;
          if (this.faults.reconcileFromLog !== true && pe.led !== null && pe.led < newest) throw new PartitionUnreconciled(c.home, pe.led);
          // Fencing: a source's log stream may not bring writes of an epoch older than the
          // partition's newest (repairs and snapshots are judged by (epoch, version)).
          if (watermark !== undefined && e < known && this.faults.skipFencing !== true) continue;
          if (e > known) epochs.set(c.home, e);
        }
        const id = rowId(c.table, c.key);
        const cur = rows.get(id) ?? this.disk.rows.get(id) ?? null;
        const m = this.faults.versionOnlyMerge === true ? mergeRow(cur?.version ?? null, c.version, c.prev) : mergeRow(cur?.version ?? null, c.version, c.prev, cur?.epoch ?? 0, c.epoch ?? 0);
        if (!m.take) continue;
        rows.set(id, { table: c.table, key: c.key, value: c.value, version: c.version, home: c.home, ...(c.epoch !== undefined && { epoch: c.epoch }) });
      }
      applied++;
    }
    // The "transaction" commits here: nothing above touched the disk.
    for (const [id, r] of rows) this.disk.rows.set(id, r);
    for (const [id, s] of slots) this.disk.slots.set(id, s);
    for (const [p, e] of epochs) this.raiseEpoch(p, e);
    if (rows.size + slots.size > 0) this.disk.writes++;
    if (watermark !== undefined) this.disk.inbound.set(watermark.source, { applied: watermark.applied, sourceMs: watermark.sourceMs });
    return { applied, refused };
  }

  // ---- anti-entropy (Store.digestClasses / bucketEntries / changesFor, without the
  // 64-bucket digests: a round lists every entry of the classes both sides may hold,
  // which plans the same repairs as listing the buckets whose digests differ)

  /** Every row and counter slot, by class (`table\0home`; counter slots by table alone,
   *  home null), as DigestEntry: key, slot, version. */
  digestEntries(both: (table: string, home: string | null) => boolean): Map<string, { table: string; home: string | null; counter: boolean; entries: DigestEntry[] }> {
    const out = new Map<string, { table: string; home: string | null; counter: boolean; entries: DigestEntry[] }>();
    const add = (table: string, home: string | null, counter: boolean, e: DigestEntry): void => {
      if (!both(table, home)) return;
      const k = `${counter ? 'c' : 'r'}\0${table}\0${home ?? ''}`;
      let c = out.get(k);
      if (c === undefined) out.set(k, (c = { table, home, counter, entries: [] }));
      c.entries.push(e);
    };
    for (const r of this.disk.rows.values()) add(r.table, r.home, false, { key: r.key, slot: null, version: r.version });
    for (const s of this.disk.slots.values()) add(s.table, null, true, { key: s.key, slot: s.slot, version: s.version });
    return out;
  }

  /** Store.changesFor: the current state of the named rows and slots, as changes. */
  changesFor(entries: readonly { table: string; key: string; slot: string | null }[]): Change[] {
    const out: Change[] = [];
    for (const e of entries) {
      if (e.slot !== null) {
        const s = this.disk.slots.get(slotId(e.table, e.key, e.slot));
        if (s !== undefined) out.push({ kind: 'counter', table: s.table, key: s.key, slot: s.slot, p: s.p, n: s.n, version: s.version });
      } else {
        const r = this.get(e.table, e.key);
        if (r !== undefined) out.push({ kind: 'row', table: r.table, key: r.key, value: r.value, version: r.version, prev: null, home: r.home, ...(r.epoch !== undefined && r.epoch > 0 && { epoch: r.epoch }) });
      }
    }
    return out;
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
    for (const r of this.disk.rows.values()) if (mayStoreAt(r.table, r.home)) out.push({ kind: 'row', table: r.table, key: r.key, value: r.value, version: r.version, prev: null, home: r.home, ...(r.epoch !== undefined && { epoch: r.epoch }) });
    for (const s of this.disk.slots.values()) if (mayStoreAt(s.table, null)) out.push({ kind: 'counter', table: s.table, key: s.key, slot: s.slot, p: s.p, n: s.n, version: s.version });
    return out;
  }
}
