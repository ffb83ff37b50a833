// The in-memory tail of the change log must answer exactly what SQLite would.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { LogTail, tailMaxBytes, tailMaxEntries } from '../../src/store/log-tail.js';
import { Store, type LoggedChange } from '../../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-tail-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const row = (seq: number, value = 'v'): LoggedChange => ({ kind: 'row', seq, committedMs: seq, table: 't', key: `k${seq}`, value, version: { wall: seq, logical: 0, region: 'r' }, prev: null, home: null });

describe('the log tail', () => {
  it('answers after(seq) from memory while it reaches back, undefined before that', () => {
    const t = new LogTail();
    assert.equal(t.after(0, 10), undefined, 'empty: read the log');
    t.push([row(5), row(6)]);
    t.push([row(7)]);
    assert.deepEqual(t.after(4, 10)?.map((c) => c.seq), [5, 6, 7]);
    assert.deepEqual(t.after(5, 1)?.map((c) => c.seq), [6]);
    assert.deepEqual(t.after(7, 10), [], 'nothing after the last');
    assert.equal(t.after(3, 10), undefined, 'seq 4 is not in the tail');
  });

  it('starts afresh after a gap in sequences', () => {
    const t = new LogTail();
    t.push([row(1), row(2)]);
    t.push([row(9)]);
    assert.equal(t.after(1, 10), undefined);
    assert.deepEqual(t.after(8, 10)?.map((c) => c.seq), [9]);
  });

  it('release(seq) lets go of entries up to seq: later reads of them fall back to the log', () => {
    const t = new LogTail();
    for (let i = 1; i <= 10; i++) t.push([row(i)]);
    t.release(6);
    assert.equal(t.size, 4);
    assert.equal(t.after(5, 10), undefined, 'seq 6 is released');
    assert.deepEqual(t.after(6, 10)?.map((c) => c.seq), [7, 8, 9, 10]);
    t.release(3);
    assert.equal(t.size, 4, 'releasing what is gone already changes nothing');
    t.release(10);
    assert.equal(t.size, 0);
    t.push([row(11)]);
    assert.deepEqual(t.after(10, 10)?.map((c) => c.seq), [11], 'the tail goes on after a full release');
  });

  it('holds at most tailMaxEntries entries and about tailMaxBytes of values', () => {
    const t = new LogTail();
    for (let i = 1; i <= tailMaxEntries + 500; i++) t.push([row(i)]);
    assert.equal(t.size, tailMaxEntries);
    assert.equal(t.after(499, 1), undefined);
    assert.deepEqual(t.after(500, 1)?.map((c) => c.seq), [501]);
    const big = new LogTail();
    const mb = 'x'.repeat(1024 * 1024);
    for (let i = 1; i <= 10; i++) big.push([row(i, mb)]);
    assert.ok(big.size * 1024 * 1024 <= tailMaxBytes, `${big.size} MiB-sized entries held`);
    assert.deepEqual(big.after(9, 5)?.map((c) => c.seq), [10]);
  });
});

describe('the store reads its log through the tail', () => {
  it('gives what SQLite holds, after commits, a rolled-back transaction and a truncation', () => {
    const path = join(dir, 'a.db');
    const s = new Store({ path, region: 'us-east-1', mayStore: () => true, synchronous: 'normal', maxClockOffsetMs: 500 });
    for (let i = 0; i < 30; i++) s.commit([{ write: { op: 'put', table: 't', key: `k${i}`, value: String(i), home: null } }, { write: { op: 'increment', table: 'c', key: 'n', by: 1 } }], 1000 + i);
    // A transaction that fails after it logged a change: its sequence is not kept.
    s.db.exec('CREATE TRIGGER boom BEFORE INSERT ON changes WHEN NEW.key = \'boom\' BEGIN SELECT RAISE(ABORT, \'boom\'); END');
    assert.throws(() => s.commit([{ write: { op: 'put', table: 't', key: 'ok-first', value: '1', home: null } }, { write: { op: 'put', table: 't', key: 'boom', value: '1', home: null } }], 2000), /boom/);
    assert.equal(s.lastSeq(), 60, 'the rolled-back sequences are handed out again');
    assert.deepEqual(s.changesAfter(60, 10), [], 'nothing of the rolled-back transaction is read');
    s.commit([{ write: { op: 'put', table: 't', key: 'after', value: '1', home: null } }], 2001);
    s.truncateLog(20);
    const raw = new Database(path, { readonly: true });
    const fromSql = (after: number, limit: number): number[] => raw.prepare<[number, number], { seq: number }>('SELECT seq FROM changes WHERE seq > ? ORDER BY seq LIMIT ?').all(after, limit).map((r) => r.seq);
    for (const [after, limit] of [[20, 100], [40, 5], [59, 10], [60, 10], [61, 10]] as const) {
      assert.deepEqual(s.changesAfter(after, limit).map((c) => c.seq), fromSql(after, limit), `changesAfter(${after}, ${limit})`);
    }
    const last = s.changesAfter(60, 1)[0];
    assert.ok(last?.kind === 'row' && last.key === 'after' && last.value === '1');
    raw.close();
    s.close();
  });
});

describe('durability off the event loop (synchronous: full)', () => {
  it('sync() resolves after an fsync that started after the call; lastSeq() reports only what is on disk', async () => {
    const s = new Store({ path: join(dir, 'durable.db'), region: 'us-east-1', mayStore: () => true, synchronous: 'full', maxClockOffsetMs: 500 });
    assert.equal(s.db.pragma('synchronous', { simple: true }), 1, 'commits do not fsync on the loop (NORMAL)');
    s.commit([{ write: { op: 'put', table: 't', key: 'a', value: '1', home: null } }], 1000);
    assert.equal(s.lastSeq(), 0, 'committed but not yet on disk: not shippable');
    assert.deepEqual(s.changesAfter(0, 10).map((c) => c.seq), [1], 'the log holds it');
    const fsyncs0 = s.fsyncs;
    await s.sync();
    assert.equal(s.fsyncs, fsyncs0 + 1);
    assert.equal(s.lastSeq(), 1);
    // Callers arriving while an fsync runs share the next one, which starts after them.
    const first = s.sync();
    s.commit([{ write: { op: 'put', table: 't', key: 'b', value: '2', home: null } }], 1001);
    const second = s.sync();
    const third = s.sync();
    await first;
    assert.equal(s.lastSeq(), 1, 'the first fsync started before seq 2 was committed');
    await Promise.all([second, third]);
    assert.equal(s.lastSeq(), 2);
    assert.equal(s.fsyncs, fsyncs0 + 3, 'one fsync for the first call, one shared by the next two');
    // A stream batch needs no fsync of its own.
    const change = { kind: 'row' as const, table: 't', key: 'c', value: '3', version: { wall: 1002, logical: 0, region: 'eu-west-1' }, prev: null, home: null };
    s.apply([change], 1003, { source: 'eu-west-1', applied: 7, sourceMs: 1003 });
    assert.equal(s.fsyncs, fsyncs0 + 3);
    s.close();
    // Reopened, everything read back is durable at once.
    const again = new Store({ path: join(dir, 'durable.db'), region: 'us-east-1', mayStore: () => true, synchronous: 'full', maxClockOffsetMs: 500 });
    assert.equal(again.lastSeq(), 2);
    again.close();
  });

  it('with synchronous: normal nothing waits and every commit is shippable at once', async () => {
    const p = new Store({ path: join(dir, 'process.db'), region: 'us-east-1', mayStore: () => true, synchronous: 'normal', maxClockOffsetMs: 500 });
    p.commit([{ write: { op: 'put', table: 't', key: 'a', value: '1', home: null } }], 1000);
    assert.equal(p.lastSeq(), 1);
    await p.sync();
    assert.equal(p.fsyncs, 0);
    p.close();
  });
});
