// A region's store: SQLite through better-sqlite3, in WAL mode. Synchronous by design:
// better-sqlite3 runs each statement on the calling thread, which for small transactions
// is faster than any asynchronous driver; callers batch writes (group commit) so one
// transaction, and one fsync, carries many of them.
//
// Residency is enforced here too, below every code path: a store is opened with the rule
// of what it may hold, and it refuses to write a row homed where it may not be stored.

import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { HlcClock, compareHlc } from '../lib/index.js';
import { bucketOf, classKey, Digests, rowHash, slotHash } from './digest.js';
import { LogTail } from './log-tail.js';
import { mergeRow, mergeSlot } from './merge.js';
import { ddl, schemaVersion } from './schema.js';
import type {
  ApplyOutcome,
  Change,
  CounterSlot,
  DigestEntry,
  LocalWrite,
  LoggedChange,
  ResolvedConflict,
  StoredRow,
  WriteOutcome,
} from './types.js';

export interface StoreOptions {
  readonly path: string;
  readonly region: string;
  /** May this region hold a row of `table` homed in `home` (null: a global table)? */
  readonly mayStore: (table: string, home: string | null) => boolean;
  /** 'full': what someone is answered on — local writes, synchronous copies, repairs — is
   *  on disk before the answer (sync(): an fsync of the WAL, off the event loop), and only
   *  changes on disk are shipped (lastSeq); survives power loss. 'normal': survives a crash
   *  of the process, which is what SIGKILL tests, at a fraction of the cost. */
  readonly synchronous: 'full' | 'normal';
  /** Versions from clocks further ahead than this are refused (HLC). */
  readonly maxClockOffsetMs: number;
  /** Told how long each fsync of the WAL took (ms): the disk's share of a write's latency. */
  readonly onFsync?: (ms: number) => void;
}

/** A row the store may not hold here: a residency rule stopped it. */
export class ResidencyRefusal extends Error {
  constructor(
    readonly table: string,
    readonly home: string | null,
    readonly region: string,
  ) {
    super(`region ${region} may not store rows of ${table} homed in ${home ?? '(global)'}`);
    this.name = 'ResidencyRefusal';
  }
}

/** Changes for a partition this region led under an older epoch and has not reconciled
 *  yet: refused for now (the sender tries again). */
export class PartitionUnreconciled extends Error {
  constructor(
    readonly partition: string,
    readonly epoch: number,
  ) {
    super(`partition ${partition} is being reconciled (this region led it under epoch ${epoch}); try again shortly`);
    this.name = 'PartitionUnreconciled';
  }
}

/** An idempotent write: its key, and how to describe its outcome for a retry. */
export interface Idempotency {
  readonly id: string;
  readonly answer: (o: WriteOutcome) => { status: number; body: string };
}

interface RowLine {
  tbl: string;
  key: string;
  value: string | null;
  vw: number;
  vl: number;
  vr: string;
  home: string | null;
  epoch: number;
}

interface SlotLine {
  tbl: string;
  key: string;
  slot: string;
  p: number;
  n: number;
  vw: number;
  vl: number;
  vr: string;
}

interface ChangeLine extends RowLine {
  seq: number;
  committed_ms: number;
  kind: 'row' | 'counter';
  pw: number | null;
  pl: number | null;
  pr: string | null;
  slot: string | null;
  p: number | null;
  n: number | null;
}

const toRow = (l: RowLine): StoredRow => ({ table: l.tbl, key: l.key, value: l.value, version: { wall: l.vw, logical: l.vl, region: l.vr }, home: l.home, ...(l.epoch > 0 && { epoch: l.epoch }) });
const toSlot = (l: SlotLine): CounterSlot => ({ table: l.tbl, key: l.key, slot: l.slot, p: l.p, n: l.n, version: { wall: l.vw, logical: l.vl, region: l.vr } });

function toChange(l: ChangeLine): LoggedChange {
  const version = { wall: l.vw, logical: l.vl, region: l.vr };
  if (l.kind === 'counter') return { kind: 'counter', seq: l.seq, committedMs: l.committed_ms, table: l.tbl, key: l.key, slot: l.slot as string, p: l.p as number, n: l.n as number, version };
  const prev = l.pw === null ? null : { wall: l.pw, logical: l.pl as number, region: l.pr as string };
  return { kind: 'row', seq: l.seq, committedMs: l.committed_ms, table: l.tbl, key: l.key, value: l.value, version, prev, home: l.home, ...(l.epoch > 0 && { epoch: l.epoch }) };
}

export class Store {
  readonly db: Database.Database;
  readonly clock: HlcClock;
  private readonly digests = new Digests();
  private readonly q;
  private seq: number;

  constructor(private readonly o: StoreOptions) {
    this.db = new Database(o.path);
    this.db.pragma('journal_mode = WAL');
    // Commits never fsync on the event loop (NORMAL): with `synchronous: full` the store
    // fsyncs the WAL file in libuv's thread pool (sync()) before anyone is answered, which
    // is what FULL does, without blocking every other request for it (on this machine's
    // shared disk a blocking fsync held the loop 0.5–2.5 ms per commit: bench/data, part 3).
    // SQLite in WAL mode writes frames in order and syncs the WAL before each checkpoint, so
    // an fsync of the WAL makes every transaction committed before it durable.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    // 2 MB of page cache, not better-sqlite3's 16 MB build default: a node's memory budget
    // is 150 MB, and the hot rows are few (measured: ~14 MB of RSS saved at 150k rows).
    this.db.pragma('cache_size = -2000');
    this.db.exec(ddl);
    // Schema 1 files have no led_since: a run of leads then starts at led.
    if (!this.db.prepare<[], { name: string }>('PRAGMA table_info(partition_epochs)').all().some((c) => c.name === 'led_since')) {
      this.db.exec('ALTER TABLE partition_epochs ADD COLUMN led_since INTEGER; UPDATE partition_epochs SET led_since = led');
    }
    const meta = this.db.prepare<[string], { v: string }>('SELECT v FROM meta WHERE k = ?');
    const region = meta.get('region')?.v;
    if (region !== undefined && region !== o.region) throw new Error(`${o.path} belongs to region ${region}, not ${o.region}`);
    this.db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)').run('region', o.region);
    this.db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)').run('schema', String(schemaVersion));

    const db = this.db;
    this.q = {
      getRow: db.prepare<[string, string], RowLine>('SELECT tbl, key, value, vw, vl, vr, home, epoch FROM rows WHERE tbl = ? AND key = ?'),
      putRow: db.prepare('INSERT OR REPLACE INTO rows (tbl, key, value, vw, vl, vr, home, bucket, epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      getEpoch: db.prepare<[string], { epoch: number; led: number | null }>('SELECT epoch, led FROM partition_epochs WHERE partition = ?'),
      setEpoch: db.prepare('INSERT INTO partition_epochs (partition, epoch, led) VALUES (?, ?, NULL) ON CONFLICT (partition) DO UPDATE SET epoch = max(epoch, excluded.epoch)'),
      // A new lead continues the run of leads not yet reconciled (led_since kept), or starts one.
      setLed: db.prepare<[string, number, number, number]>(
        'INSERT INTO partition_epochs (partition, epoch, led, led_since) VALUES (?, ?, ?, ?) ON CONFLICT (partition) DO UPDATE SET epoch = max(epoch, excluded.epoch), led_since = CASE WHEN led IS NULL THEN excluded.led ELSE coalesce(led_since, led) END, led = excluded.led',
      ),
      clearLed: db.prepare<[string]>('UPDATE partition_epochs SET led = NULL, led_since = NULL WHERE partition = ?'),
      ownLeads: db.prepare<[string, string, number, number], RowLine>(
        'SELECT tbl, key, value, vw, vl, vr, home, epoch FROM rows WHERE home = ? AND epoch BETWEEN coalesce((SELECT led_since FROM partition_epochs WHERE partition = ?), ?) AND ?',
      ),
      putLost: db.prepare('INSERT INTO lost_writes (partition, epoch, tbl, key, value, vw, vl, vr, found_ms, acknowledged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      lost: db.prepare<[number], { id: number; partition: string; epoch: number; tbl: string; key: string; value: string | null; vw: number; vl: number; vr: string; found_ms: number; acknowledged: number }>('SELECT * FROM lost_writes ORDER BY id LIMIT ?'),
      lostCount: db.prepare<[], { c: number }>('SELECT count(*) AS c FROM lost_writes'),
      list: db.prepare<[string, string, string, string, number], RowLine>(
        'SELECT tbl, key, value, vw, vl, vr, home, epoch FROM rows WHERE tbl = ? AND key >= ? AND key < ? AND key > ? AND value IS NOT NULL ORDER BY key LIMIT ?',
      ),
      getSlot: db.prepare<[string, string, string], SlotLine>('SELECT tbl, key, slot, p, n, vw, vl, vr FROM counter_slots WHERE tbl = ? AND key = ? AND slot = ?'),
      slotsOf: db.prepare<[string, string], SlotLine>('SELECT tbl, key, slot, p, n, vw, vl, vr FROM counter_slots WHERE tbl = ? AND key = ? ORDER BY slot'),
      putSlot: db.prepare('INSERT OR REPLACE INTO counter_slots (tbl, key, slot, p, n, vw, vl, vr, bucket) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      log: db.prepare(
        'INSERT INTO changes (seq, committed_ms, kind, tbl, key, value, vw, vl, vr, pw, pl, pr, home, slot, p, n, epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      after: db.prepare<[number, number], ChangeLine>('SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
      oldest: db.prepare<[], { s: number | null }>('SELECT min(seq) AS s FROM changes'),
      newest: db.prepare<[], { s: number | null }>('SELECT max(seq) AS s FROM changes'),
      truncate: db.prepare('DELETE FROM changes WHERE seq <= ?'),
      setMeta: db.prepare('INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      logSize: db.prepare<[], { c: number }>('SELECT count(*) AS c FROM changes'),
      inbound: db.prepare<[], { source: string; applied: number; source_ms: number }>('SELECT source, applied, source_ms FROM inbound'),
      setInbound: db.prepare('INSERT OR REPLACE INTO inbound (source, applied, source_ms) VALUES (?, ?, ?)'),
      outbound: db.prepare<[], { dest: string; acked: number }>('SELECT dest, acked FROM outbound'),
      setOutbound: db.prepare('INSERT OR REPLACE INTO outbound (dest, acked) VALUES (?, ?)'),
      idem: db.prepare<[string], { status: number; body: string }>('SELECT status, body FROM idempotency WHERE id = ?'),
      putIdem: db.prepare('INSERT OR REPLACE INTO idempotency (id, status, body, created_ms) VALUES (?, ?, ?, ?)'),
      expireIdem: db.prepare('DELETE FROM idempotency WHERE created_ms < ?'),
      bucketRows: db.prepare<[string, string | null, number], RowLine>('SELECT tbl, key, value, vw, vl, vr, home, epoch FROM rows WHERE tbl = ? AND home IS ? AND bucket = ?'),
      bucketSlots: db.prepare<[string, number], SlotLine>('SELECT tbl, key, slot, p, n, vw, vl, vr FROM counter_slots WHERE tbl = ? AND bucket = ?'),
      rowsPage: db.prepare<[string, string, string, number], RowLine>('SELECT tbl, key, value, vw, vl, vr, home, epoch FROM rows WHERE tbl > ? OR (tbl = ? AND key > ?) ORDER BY tbl, key LIMIT ?'),
      slotsPage: db.prepare<[string, string, string, string, string, string, number], SlotLine>(
        'SELECT tbl, key, slot, p, n, vw, vl, vr FROM counter_slots WHERE tbl > ? OR (tbl = ? AND key > ?) OR (tbl = ? AND key = ? AND slot > ?) ORDER BY tbl, key, slot LIMIT ?',
      ),
    };

    // The clock starts past every version this store has seen, so a restarted node never
    // issues a version below one it issued before.
    const high = db.prepare<[], { vw: number | null; vl: number | null }>(
      'SELECT vw, vl FROM (SELECT vw, vl FROM rows UNION ALL SELECT vw, vl FROM counter_slots UNION ALL SELECT vw, vl FROM changes) ORDER BY vw DESC, vl DESC LIMIT 1',
    ).get();
    this.clock = new HlcClock(o.region, o.maxClockOffsetMs, { wall: high?.vw ?? 0, logical: high?.vl ?? 0, region: o.region });
    this.seq = this.q.newest.get()?.s ?? Number(meta.get('seq_floor')?.v ?? 0);
    // (An in-memory store, as tests and `--data-dir` less nodes use, has no WAL file.)
    if (o.synchronous === 'full' && this.db.pragma('journal_mode', { simple: true }) === 'wal') {
      // The WAL exists now (the meta rows above were written through it). What this store
      // read at start may sit in the page cache only: make it durable before shipping any.
      this.walFd = openSync(`${o.path}-wal`, 'r');
      fsyncSync(this.walFd);
    }
    this.durableSeq = this.seq;
    this.rebuildDigests();
  }

  get region(): string {
    return this.o.region;
  }

  private rebuildDigests(): void {
    for (const l of this.db.prepare<[], RowLine>('SELECT tbl, key, value, vw, vl, vr, home, epoch FROM rows').iterate()) {
      this.digests.toggle(classKey(l.tbl, l.home), bucketOf(l.key), rowHash(l.tbl, l.key, { wall: l.vw, logical: l.vl, region: l.vr }));
    }
    for (const l of this.db.prepare<[], SlotLine>('SELECT tbl, key, slot, p, n, vw, vl, vr FROM counter_slots').iterate()) {
      this.digests.toggle(classKey(l.tbl, null), bucketOf(l.key), slotHash(l.tbl, l.key, l.slot, l.p, l.n));
    }
  }

  private check(table: string, home: string | null): void {
    if (!this.o.mayStore(table, home)) throw new ResidencyRefusal(table, home, this.o.region);
  }

  // ---- reads

  get(table: string, key: string): StoredRow | undefined {
    const l = this.q.getRow.get(table, key);
    return l === undefined ? undefined : toRow(l);
  }

  /** Live rows of `table` whose key starts with `prefix`, after `afterKey`, in key order. */
  list(table: string, prefix: string, afterKey: string, limit: number): StoredRow[] {
    return this.q.list.all(table, prefix, prefix + '\uffff', afterKey, limit).map(toRow);
  }

  counter(table: string, key: string): { value: number; slots: CounterSlot[] } {
    const slots = this.q.slotsOf.all(table, key).map(toSlot);
    return { value: slots.reduce((s, x) => s + x.p - x.n, 0), slots };
  }

  idempotent(id: string): { status: number; body: string } | undefined {
    return this.q.idem.get(id);
  }

  // ---- local writes

  /**
   * Runs writes at this region, in one transaction: each gets a version from the clock and
   * a place in the change log. A conditional write whose version no longer matches fails
   * alone (409), the others commit. An idempotent write's answer is stored in the same
   * transaction, so a retry after a crash finds either both or neither.
   */
  commit(items: readonly { write: LocalWrite; idempotency?: Idempotency }[], nowMs: number): WriteOutcome[] {
    const seqBefore = this.seq;
    try {
      const out = this.db.transaction(() => items.map((it) => this.commitOne(it.write, it.idempotency, nowMs)))();
      this.tail.push(this.committing);
      return out;
    } catch (e) {
      // Rolled back: the log never held these sequences, and neither may the tail.
      this.seq = seqBefore;
      throw e;
    } finally {
      this.committing = [];
    }
  }

  // ---- durability (synchronous: full)

  private walFd: number | null = null;
  /** Every change up to here is on disk: what lastSeq() reports and replication ships. */
  private durableSeq: number;
  private syncRequests = 0;
  private fsyncRunning = false;
  private syncWaiters: { gen: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** fsyncs of the WAL done (synchronous: full). */
  fsyncs = 0;

  /**
   * Resolves once every transaction committed before the call is on disk: one fsync of the
   * WAL that started after the call, in the thread pool. Callers that arrive while one runs
   * share the next (group fsync). Immediate with `synchronous: normal`.
   */
  sync(): Promise<void> {
    if (this.walFd === null) return Promise.resolve();
    const gen = ++this.syncRequests;
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ gen, resolve, reject });
      this.startFsync();
    });
  }

  private startFsync(): void {
    const fd = this.walFd;
    if (this.fsyncRunning || fd === null) return;
    this.fsyncRunning = true;
    const gen = this.syncRequests;
    const seq = this.seq;
    const startedMs = performance.now();
    fsync(fd, (err) => {
      this.fsyncRunning = false;
      if (err === null) {
        this.fsyncs++;
        this.o.onFsync?.(performance.now() - startedMs);
        this.durableSeq = Math.max(this.durableSeq, seq);
      }
      const done = this.syncWaiters.filter((w) => w.gen <= gen);
      this.syncWaiters = this.syncWaiters.filter((w) => w.gen > gen);
      for (const w of done) {
        if (err === null) w.resolve();
        else w.reject(new Error(`fsync of ${this.o.path}-wal failed: ${err.message}`));
      }
      if (this.syncWaiters.length > 0) this.startFsync();
    });
  }

  /** The changes logged by the transaction running now (they join the tail at its commit). */
  private committing: LoggedChange[] = [];
  private readonly tail = new LogTail();

  /** One transaction on disk when it returns (synchronous: full), fsync'd on the event
   *  loop: only for what is rare and must not wait for an answer to be durable (a deposed
   *  leader's reconciliation). */
  private durably<T>(fn: () => T): T {
    if (this.o.synchronous !== 'full') return this.db.transaction(fn)();
    this.q.syncFull.run();
    try {
      return this.db.transaction(fn)();
    } finally {
      this.q.syncNormal.run();
    }
  }

  private commitOne(w: LocalWrite, idem: Idempotency | undefined, nowMs: number): WriteOutcome {
    if (idem !== undefined) {
      const seen = this.q.idem.get(idem.id);
      if (seen !== undefined) return { ok: false, reason: 'duplicate', status: seen.status, body: seen.body };
    }
    let out: WriteOutcome;
    if (w.op === 'increment') {
      this.check(w.table, null);
      const cur = this.q.getSlot.get(w.table, w.key, this.o.region);
      const p = (cur?.p ?? 0) + (w.by > 0 ? w.by : 0);
      const n = (cur?.n ?? 0) + (w.by < 0 ? -w.by : 0);
      const version = this.clock.now(nowMs);
      const cls = classKey(w.table, null);
      const b = bucketOf(w.key);
      if (cur !== undefined) this.digests.toggle(cls, b, slotHash(w.table, w.key, cur.slot, cur.p, cur.n));
      this.digests.toggle(cls, b, slotHash(w.table, w.key, this.o.region, p, n));
      this.q.putSlot.run(w.table, w.key, this.o.region, p, n, version.wall, version.logical, version.region, b);
      const change: LoggedChange = { kind: 'counter', seq: ++this.seq, committedMs: nowMs, table: w.table, key: w.key, slot: this.o.region, p, n, version };
      this.logChange(change);
      out = { ok: true, change, counter: this.counter(w.table, w.key).value };
    } else {
      this.check(w.table, w.home);
      const cur = this.q.getRow.get(w.table, w.key);
      const curRow = cur === undefined ? null : toRow(cur);
      const live = curRow !== null && curRow.value !== null;
      const expect = w.ifVersion;
      if (expect !== undefined && (expect === 'absent' ? live : !live || compareHlc(expect, (curRow as StoredRow).version) !== 0)) {
        out = { ok: false, reason: 'version_conflict', current: live ? curRow : null };
      } else {
        const version = this.clock.now(nowMs);
        const home = curRow?.home ?? w.home;
        const epoch = w.epoch ?? 0;
        const row: StoredRow = { table: w.table, key: w.key, value: w.op === 'put' ? w.value : null, version, home, ...(epoch > 0 && { epoch }) };
        this.writeRow(row, curRow);
        const change: LoggedChange = { kind: 'row', seq: ++this.seq, committedMs: nowMs, table: w.table, key: w.key, value: row.value, version, prev: curRow?.version ?? null, home, ...(epoch > 0 && { epoch }) };
        this.logChange(change);
        out = { ok: true, change, row };
      }
    }
    if (idem !== undefined) {
      const a = idem.answer(out);
      this.q.putIdem.run(idem.id, a.status, a.body, nowMs);
    }
    return out;
  }

  private writeRow(row: StoredRow, prev: StoredRow | null): void {
    const cls = classKey(row.table, row.home);
    const b = bucketOf(row.key);
    if (prev !== null) this.digests.toggle(classKey(prev.table, prev.home), b, rowHash(prev.table, prev.key, prev.version));
    this.digests.toggle(cls, b, rowHash(row.table, row.key, row.version));
    this.q.putRow.run(row.table, row.key, row.value, row.version.wall, row.version.logical, row.version.region, row.home, b, row.epoch ?? 0);
  }

  private logChange(c: LoggedChange): void {
    this.committing.push(c);
    if (c.kind === 'counter') {
      this.q.log.run(c.seq, c.committedMs, 'counter', c.table, c.key, null, c.version.wall, c.version.logical, c.version.region, null, null, null, null, c.slot, c.p, c.n, 0);
    } else {
      const p = c.prev;
      this.q.log.run(c.seq, c.committedMs, 'row', c.table, c.key, c.value, c.version.wall, c.version.logical, c.version.region, p?.wall ?? null, p?.logical ?? null, p?.region ?? null, c.home, null, null, null, c.epoch ?? 0);
    }
  }

  expireIdempotency(olderThanMs: number): number {
    return this.q.expireIdem.run(olderThanMs).changes;
  }

  // ---- changes from elsewhere

  /**
   * Merges changes from another region (replication, anti-entropy, snapshots), in one
   * transaction with the source's watermark when one is given, so that a batch is applied
   * exactly once. Changes this region may not hold are skipped and counted, never stored.
   */
  apply(changes: readonly Change[], nowMs: number, watermark?: { source: string; applied: number; sourceMs: number }): ApplyOutcome & { refused: number } {
    // No fsync here. A stream batch (one with a watermark) needs none: a power loss rolls
    // its rows back together with the watermark, and the source, told "gap, expected N",
    // sends them again (or a snapshot). A synchronous copy, a repair or a snapshot page is
    // made durable by its caller (sync()) before it answers anyone.
    return this.db.transaction(() => {
      let applied = 0;
      let skipped = 0;
      let refused = 0;
      let fenced = 0;
      const conflicts: ResolvedConflict[] = [];
      for (const c of changes) {
        if (!this.o.mayStore(c.table, c.kind === 'row' ? c.home : null)) {
          refused++;
          continue;
        }
        // A version from a clock too far ahead is refused with the batch: the caller
        // reports the offset (clock safety).
        this.clock.observe(c.version, nowMs);
        if (c.kind === 'counter') {
          const cur = this.q.getSlot.get(c.table, c.key, c.slot);
          const m = mergeSlot(cur ?? null, c);
          if (!m.changed) {
            skipped++;
            continue;
          }
          const cls = classKey(c.table, null);
          const b = bucketOf(c.key);
          if (cur !== undefined) this.digests.toggle(cls, b, slotHash(c.table, c.key, cur.slot, cur.p, cur.n));
          this.digests.toggle(cls, b, slotHash(c.table, c.key, c.slot, m.p, m.n));
          const v = cur !== undefined && compareHlc({ wall: cur.vw, logical: cur.vl, region: cur.vr }, c.version) > 0 ? { wall: cur.vw, logical: cur.vl, region: cur.vr } : c.version;
          this.q.putSlot.run(c.table, c.key, c.slot, m.p, m.n, v.wall, v.logical, v.region, b);
          applied++;
        } else {
          if (c.home !== null) {
            // A deposed leader's rows wait for its reconciliation: nothing from elsewhere
            // may overwrite them (and lose them unlisted) before it has set them aside.
            const pe = this.q.getEpoch.get(c.home);
            // Judged against the newer of the known epoch and the change's own: a change of
            // a newer epoch arriving first (a snapshot, a repair) must wait too.
            if (pe !== undefined && pe.led !== null && pe.led < Math.max(pe.epoch, c.epoch ?? 0)) throw new PartitionUnreconciled(c.home, pe.led);
            // Fencing: a source's log stream may not bring writes of an epoch older than
            // the partition's newest — a deposed leader's unacknowledged tail. (Repairs
            // and snapshots, between reconciled regions, are judged by version alone.)
            const e = c.epoch ?? 0;
            const known = this.q.getEpoch.get(c.home)?.epoch ?? 0;
            if (watermark !== undefined && e < known) {
              fenced++;
              continue;
            }
            if (e > known) this.q.setEpoch.run(c.home, e);
          }
          const cur = this.q.getRow.get(c.table, c.key);
          const curRow = cur === undefined ? null : toRow(cur);
          const m = mergeRow(curRow?.version ?? null, c.version, c.prev, curRow?.epoch ?? 0, c.epoch ?? 0);
          if (m.conflict !== null) conflicts.push({ table: c.table, key: c.key, winner: m.conflict.winner, loser: m.conflict.loser, atMs: nowMs });
          if (!m.take) {
            skipped++;
            continue;
          }
          this.writeRow({ table: c.table, key: c.key, value: c.value, version: c.version, home: c.home, ...(c.epoch !== undefined && { epoch: c.epoch }) }, curRow);
          applied++;
        }
      }
      if (watermark !== undefined) this.q.setInbound.run(watermark.source, watermark.applied, watermark.sourceMs);
      return { applied, skipped, refused, fenced, conflicts };
    })();
  }

  inboundWatermarks(): Map<string, { applied: number; sourceMs: number }> {
    return new Map(this.q.inbound.all().map((r) => [r.source, { applied: r.applied, sourceMs: r.source_ms }]));
  }

  /** Moves a source's watermark without changes (a heartbeat, or the end of a snapshot). */
  setInbound(source: string, applied: number, sourceMs: number): void {
    this.q.setInbound.run(source, applied, sourceMs);
  }

  // ---- the change log, for shipping

  /** The last sequence in the log that is on disk (with `synchronous: full`; otherwise the
   *  last one): replication ships only up to here, so a power loss can never take back a
   *  sequence number a destination already holds. */
  lastSeq(): number {
    return this.walFd === null ? this.seq : this.durableSeq;
  }

  /** The first sequence still in the log (lastSeq + 1 when the log is empty). */
  firstSeq(): number {
    // The log's first entry moves only when it is truncated (cached: the streams ask on
    // every flush); an empty log starts after the last sequence.
    if (this.oldestSeq === null) this.oldestSeq = this.q.oldest.get()?.s ?? null;
    return this.oldestSeq ?? this.seq + 1;
  }

  private oldestSeq: number | null = null;

  changesAfter(seq: number, limit: number): LoggedChange[] {
    return this.tail.after(seq, limit) ?? this.q.after.all(seq, limit).map(toChange);
  }

  /** Every reader of the log (each destination's stream) is past `seq`: the in-memory tail
   *  may let those entries go (a resend reads them from SQLite). */
  releaseTail(seq: number): void {
    this.tail.release(seq);
  }

  /** Entries the in-memory tail holds (what a slow destination keeps in memory). */
  get tailEntries(): number {
    return this.tail.size;
  }

  /** Drops log entries up to `seq`; the sequence keeps counting from where it was. */
  truncateLog(seq: number): number {
    const upTo = Math.min(seq, this.seq);
    // Nothing to drop: no transaction.
    if (upTo < this.firstSeq()) return 0;
    this.oldestSeq = null;
    return this.db.transaction(() => {
      this.q.setMeta.run('seq_floor', String(this.seq));
      return this.q.truncate.run(upTo).changes;
    })();
  }

  logSize(): number {
    return this.q.logSize.get()?.c ?? 0;
  }

  outboundAcks(): Map<string, number> {
    const m = new Map(this.q.outbound.all().map((r) => [r.dest, r.acked]));
    for (const [dest, acked] of this.acksPending) m.set(dest, acked);
    return m;
  }

  /** Persisted at most every 200 ms per destination (each write is a transaction): after
   *  a crash a destination may be sent again what it already has, which it
   *  recognises. close() writes the latest. */
  setOutboundAck(dest: string, acked: number): void {
    const now = performance.now();
    this.acksPending.set(dest, acked);
    if (now - (this.acksWrittenAt.get(dest) ?? -Infinity) < 200) return;
    this.acksWrittenAt.set(dest, now);
    this.acksPending.delete(dest);
    this.q.setOutbound.run(dest, acked);
  }

  private readonly acksPending = new Map<string, number>();
  private readonly acksWrittenAt = new Map<string, number>();

  // ---- anti-entropy and snapshots

  digestOf(table: string, home: string | null): readonly bigint[] {
    return this.digests.of(classKey(table, home));
  }

  digestClasses(): string[] {
    return this.digests.classes();
  }

  /** Every row (or counter slot) of a class in one bucket: keys and versions. */
  bucketEntries(table: string, home: string | null, bucket: number, counter: boolean): DigestEntry[] {
    if (counter) return this.q.bucketSlots.all(table, bucket).map((l) => ({ key: l.key, slot: l.slot, version: { wall: l.vw, logical: l.vl, region: l.vr } }));
    return this.q.bucketRows.all(table, home, bucket).map((l) => ({ key: l.key, slot: null, version: { wall: l.vw, logical: l.vl, region: l.vr } }));
  }

  /** The current state of the named rows and slots, as changes another region can merge. */
  changesFor(entries: readonly { table: string; key: string; slot: string | null }[]): Change[] {
    const out: Change[] = [];
    for (const e of entries) {
      if (e.slot !== null) {
        const s = this.q.getSlot.get(e.table, e.key, e.slot);
        if (s !== undefined) out.push({ kind: 'counter', table: s.tbl, key: s.key, slot: s.slot, p: s.p, n: s.n, version: { wall: s.vw, logical: s.vl, region: s.vr } });
      } else {
        const r = this.q.getRow.get(e.table, e.key);
        if (r !== undefined) out.push({ kind: 'row', table: r.tbl, key: r.key, value: r.value, version: { wall: r.vw, logical: r.vl, region: r.vr }, prev: null, home: r.home, ...(r.epoch > 0 && { epoch: r.epoch }) });
      }
    }
    return out;
  }

  /** A page of the whole store in (table, key) order: rows after `after`, for a snapshot. */
  rowsPage(after: { table: string; key: string }, limit: number): StoredRow[] {
    return this.q.rowsPage.all(after.table, after.table, after.key, limit).map(toRow);
  }

  slotsPage(after: { table: string; key: string; slot: string }, limit: number): CounterSlot[] {
    return this.q.slotsPage.all(after.table, after.table, after.key, after.table, after.key, after.slot, limit).map(toSlot);
  }

  // ---- leadership: epochs, reconciliation, lost writes

  /** The newest epoch known for a home partition, and the newest this region led under. */
  partitionEpoch(partition: string): { epoch: number; led: number | null } {
    return this.q.getEpoch.get(partition) ?? { epoch: 0, led: null };
  }

  raiseEpoch(partition: string, epoch: number): void {
    this.q.setEpoch.run(partition, epoch);
  }

  /** Records that this region leads the partition under `epoch` (before it serves). */
  markLed(partition: string, epoch: number): void {
    this.q.setLed.run(partition, epoch, epoch, epoch);
  }

  /** The rows of a partition whose current version was written under one of this region's
   *  own leads not yet reconciled — every epoch from the run's first (led_since) to `led`
   *  (what a deposed leader compares with the new leader's: the log may have been
   *  truncated). Only this region led those epochs, so these are its own writes. A region
   *  that led epochs 1 and 2 in a row and was deposed from 2 looked at epoch 2's rows only
   *  before, and kept its unacknowledged epoch-1 rows unlisted (test/sim, seed 17854). */
  rowsOfOwnLeads(partition: string, led: number): StoredRow[] {
    return this.q.ownLeads.all(partition, partition, led, led).map(toRow);
  }

  /**
   * A deposed leader's reconciliation, in one transaction: each of its rows the new
   * leader does not hold at the same version is replaced by the leader's (`theirs`, null
   * when the leader has no such row: removed here) and what this region had is kept in
   * lost_writes — `acknowledged` says whether a client was told it was written. Bypasses
   * last-writer-wins on purpose: the leader's history is the partition's history.
   */
  reconcile(partition: string, epoch: number, items: readonly { mine: StoredRow; theirs: StoredRow | null; acknowledged: boolean }[], nowMs: number): number {
    return this.durably(() => {
      for (const { mine, theirs, acknowledged } of items) {
        this.q.putLost.run(partition, mine.epoch ?? epoch, mine.table, mine.key, mine.value, mine.version.wall, mine.version.logical, mine.version.region, nowMs, acknowledged ? 1 : 0);
        const cur = this.q.getRow.get(mine.table, mine.key);
        const curRow = cur === undefined ? null : toRow(cur);
        if (theirs !== null) this.writeRow(theirs, curRow);
        else if (curRow !== null) {
          this.digests.toggle(classKey(curRow.table, curRow.home), bucketOf(curRow.key), rowHash(curRow.table, curRow.key, curRow.version));
          this.db.prepare('DELETE FROM rows WHERE tbl = ? AND key = ?').run(curRow.table, curRow.key);
        }
      }
      this.q.clearLed.run(partition);
      return items.length;
    });
  }

  lostWrites(limit = 1000): { total: number; writes: { id: number; partition: string; epoch: number; table: string; key: string; value: string | null; version: string; foundMs: number; acknowledged: boolean }[] } {
    return {
      total: this.q.lostCount.get()?.c ?? 0,
      writes: this.q.lost.all(limit).map((l) => ({ id: l.id, partition: l.partition, epoch: l.epoch, table: l.tbl, key: l.key, value: l.value, version: `${l.vw}.${l.vl}.${l.vr}`, foundMs: l.found_ms, acknowledged: l.acknowledged === 1 })),
    };
  }

  close(): void {
    if (!this.db.open) return;
    for (const [dest, acked] of this.acksPending) this.q.setOutbound.run(dest, acked);
    this.db.close();
    if (this.walFd !== null) {
      closeSync(this.walFd);
      this.walFd = null;
    }
    // Anyone still waiting for an fsync: the close's checkpoint has synced everything.
    for (const w of this.syncWaiters) w.resolve();
    this.syncWaiters = [];
  }
}

