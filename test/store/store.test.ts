import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { formatHlc } from '../../src/lib/index.js';
import { bucketCount, ResidencyRefusal, Store, type StoreOptions } from '../../src/store/index.js';

const dir = mkdtempSync(join(tmpdir(), 'meridian-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function open(region: string, o: Partial<StoreOptions> = {}): Store {
  return new Store({ path: join(dir, `${region}-${n++}.db`), region, mayStore: () => true, synchronous: 'normal', maxClockOffsetMs: 500, ...o });
}

describe('store: local writes', () => {
  it('puts, reads, lists by prefix with a cursor, deletes with a tombstone', () => {
    const s = open('us-east-1');
    for (const k of ['a1', 'a2', 'a3', 'b1']) s.commit([{ write: { op: 'put', table: 'prefs', key: k, value: JSON.stringify({ k }), home: null } }], 1000);
    assert.deepEqual(JSON.parse(s.get('prefs', 'a2')?.value ?? 'null'), { k: 'a2' });
    assert.deepEqual(s.list('prefs', 'a', '', 2).map((r) => r.key), ['a1', 'a2']);
    assert.deepEqual(s.list('prefs', 'a', 'a2', 2).map((r) => r.key), ['a3']);
    const [d] = s.commit([{ write: { op: 'delete', table: 'prefs', key: 'a1', home: null } }], 1001);
    assert.ok(d?.ok);
    assert.equal(s.get('prefs', 'a1')?.value, null, 'a tombstone stays');
    assert.deepEqual(s.list('prefs', 'a', '', 10).map((r) => r.key), ['a2', 'a3'], 'tombstones are not listed');
    assert.equal(s.lastSeq(), 5);
    assert.deepEqual(s.changesAfter(3, 10).map((c) => c.seq), [4, 5]);
    s.close();
  });

  it('conditional puts: if the version is still X, or create only', () => {
    const s = open('us-east-1');
    const [a] = s.commit([{ write: { op: 'put', table: 't', key: 'k', value: '1', home: null, ifVersion: 'absent' } }], 1000);
    assert.ok(a?.ok === true);
    const v1 = a.change.version;
    const [b] = s.commit([{ write: { op: 'put', table: 't', key: 'k', value: '2', home: null, ifVersion: 'absent' } }], 1001);
    assert.ok(b?.ok === false && b.reason === 'version_conflict' && b.current !== null && formatHlc(b.current.version) === formatHlc(v1));
    const [c] = s.commit([{ write: { op: 'put', table: 't', key: 'k', value: '3', home: null, ifVersion: v1 } }], 1002);
    assert.ok(c?.ok);
    const [d] = s.commit([{ write: { op: 'put', table: 't', key: 'k', value: '4', home: null, ifVersion: v1 } }], 1003);
    assert.equal(d?.ok, false, 'the version moved on');
    assert.equal(s.get('t', 'k')?.value, '3');
    assert.equal(s.lastSeq(), 2, 'refused writes are not logged');
  });

  it('stores an idempotent answer in the write transaction', () => {
    const s = open('us-east-1');
    s.commit([{ write: { op: 'increment', table: 'views', key: 'home', by: 2 }, idempotency: { id: 'req-1', answer: (o) => ({ status: 200, body: JSON.stringify(o.ok ? o.counter : null) }) } }], 1000);
    assert.deepEqual(s.idempotent('req-1'), { status: 200, body: '2' });
    assert.equal(s.idempotent('req-2'), undefined);
    assert.equal(s.expireIdempotency(1001), 1);
    assert.equal(s.idempotent('req-1'), undefined);
  });

  it('refuses a row homed where this region may not store it, and stores nothing', () => {
    const s = open('us-east-1', { mayStore: (_t, home) => home !== 'eu-west-1' });
    assert.throws(() => s.commit([{ write: { op: 'put', table: 'accounts', key: 'x', value: '"secret"', home: 'eu-west-1' } }], 1000), ResidencyRefusal);
    assert.equal(s.get('accounts', 'x'), undefined);
    assert.equal(s.lastSeq(), 0);
    const r = s.apply([{ kind: 'row', table: 'accounts', key: 'y', value: '"secret"', version: { wall: 1000, logical: 0, region: 'eu-west-1' }, prev: null, home: 'eu-west-1' }], 1000);
    assert.equal(r.refused, 1);
    assert.equal(s.get('accounts', 'y'), undefined);
  });

  it('reopens with its sequence and a clock past every version it holds', () => {
    const path = join(dir, 'reopen.db');
    const o = { path, region: 'us-east-1', mayStore: () => true, synchronous: 'full' as const, maxClockOffsetMs: 500 };
    let s = new Store(o);
    s.commit([{ write: { op: 'put', table: 't', key: 'k', value: '1', home: null } }], 5000);
    s.commit([{ write: { op: 'put', table: 't', key: 'k', value: '2', home: null } }], 5000);
    s.truncateLog(2);
    s.close();
    s = new Store(o);
    assert.equal(s.lastSeq(), 2, 'the sequence survives an emptied log');
    const [w] = s.commit([{ write: { op: 'put', table: 't', key: 'k', value: '3', home: null } }], 1000);
    assert.ok(w?.ok && w.change.seq === 3 && w.change.version.wall === 5000 && w.change.version.logical === 2);
    assert.throws(() => new Store({ ...o, region: 'eu-west-1' }), /belongs to region us-east-1/);
    s.close();
  });
});

describe('store: changes from elsewhere', () => {
  it('last writer wins by HLC; concurrent writes are counted as conflicts', () => {
    const s = open('us-east-1');
    const [mine] = s.commit([{ write: { op: 'put', table: 'prefs', key: 'u', value: '"us"', home: null } }], 1000);
    assert.ok(mine?.ok);
    // eu-west-1 wrote the same key without having seen ours, later: it wins, a conflict.
    const later = s.apply([{ kind: 'row', table: 'prefs', key: 'u', value: '"eu"', version: { wall: 1001, logical: 0, region: 'eu-west-1' }, prev: null, home: null }], 1002);
    assert.equal(later.applied, 1);
    assert.equal(later.conflicts.length, 1);
    assert.equal(s.get('prefs', 'u')?.value, '"eu"');
    // an older concurrent write loses, and is counted too
    const older = s.apply([{ kind: 'row', table: 'prefs', key: 'u', value: '"ap"', version: { wall: 999, logical: 0, region: 'ap-southeast-1' }, prev: null, home: null }], 1003);
    assert.equal(older.applied, 0);
    assert.equal(older.conflicts.length, 1);
    // a write that saw the current version is not a conflict
    const seen = s.apply([{ kind: 'row', table: 'prefs', key: 'u', value: '"eu2"', version: { wall: 1005, logical: 0, region: 'eu-west-1' }, prev: { wall: 1001, logical: 0, region: 'eu-west-1' }, home: null }], 1006);
    assert.equal(seen.conflicts.length, 0);
    assert.equal(s.get('prefs', 'u')?.value, '"eu2"');
    // applying the same change again changes nothing
    assert.equal(s.apply([{ kind: 'row', table: 'prefs', key: 'u', value: '"eu2"', version: { wall: 1005, logical: 0, region: 'eu-west-1' }, prev: null, home: null }], 1007).applied, 0);
  });

  it('counters: every region\'s increments count, whatever the order or repetition', () => {
    const a = open('us-east-1');
    const b = open('eu-west-1');
    a.commit([{ write: { op: 'increment', table: 'views', key: 'p', by: 3 } }], 1000);
    b.commit([{ write: { op: 'increment', table: 'views', key: 'p', by: 5 } }, { write: { op: 'increment', table: 'views', key: 'p', by: -1 } }], 1000);
    const fromA = a.changesAfter(0, 100);
    const fromB = b.changesAfter(0, 100);
    a.apply([...fromB].reverse(), 1001);
    a.apply(fromB, 1001);
    b.apply(fromA, 1001);
    assert.equal(a.counter('views', 'p').value, 7);
    assert.equal(b.counter('views', 'p').value, 7);
    assert.deepEqual(a.digestOf('views', null), b.digestOf('views', null), 'same contents, same digest');
  });

  it('digests: equal for equal contents, a bucket differs where a row differs, and rebuilt on open', () => {
    const a = open('us-east-1');
    const b = open('eu-west-1');
    for (let i = 0; i < 50; i++) a.commit([{ write: { op: 'put', table: 'prefs', key: `k${i}`, value: String(i), home: null } }], 1000 + i);
    b.apply(a.changesAfter(0, 1000), 2000);
    assert.deepEqual(a.digestOf('prefs', null), b.digestOf('prefs', null));
    a.commit([{ write: { op: 'put', table: 'prefs', key: 'k7', value: '"new"', home: null } }], 3000);
    const da = a.digestOf('prefs', null);
    const db = b.digestOf('prefs', null);
    const differ = [...Array(bucketCount).keys()].filter((i) => da[i] !== db[i]);
    assert.equal(differ.length, 1);
    const entries = a.bucketEntries('prefs', null, differ[0] as number, false);
    assert.ok(entries.some((e) => e.key === 'k7'));
    b.apply(a.changesFor([{ table: 'prefs', key: 'k7', slot: null }]), 3001);
    assert.deepEqual(a.digestOf('prefs', null), b.digestOf('prefs', null));
    const path = (a.db.name);
    a.close();
    const again = new Store({ path, region: 'us-east-1', mayStore: () => true, synchronous: 'normal', maxClockOffsetMs: 500 });
    assert.deepEqual(again.digestOf('prefs', null), db.map((x, i) => (i === differ[0] ? da[i] : x)));
  });

  it('pages the whole store for a snapshot', () => {
    const s = open('us-east-1');
    for (const t of ['a', 'b']) for (let i = 0; i < 5; i++) s.commit([{ write: { op: 'put', table: t, key: `k${i}`, value: '1', home: null } }], 1000);
    const seen: string[] = [];
    let after = { table: '', key: '' };
    for (;;) {
      const page = s.rowsPage(after, 3);
      if (page.length === 0) break;
      seen.push(...page.map((r) => `${r.table}/${r.key}`));
      const last = page[page.length - 1]!;
      after = { table: last.table, key: last.key };
    }
    assert.equal(seen.length, 10);
    assert.equal(new Set(seen).size, 10);
  });
});

describe('store: leadership epochs', () => {
  const put = (key: string, epoch: number) => ({ write: { op: 'put' as const, table: 'accounts', key, value: `"${key}"`, home: 'us-east-1', epoch } });
  it('a run of leads not yet reconciled covers every epoch of the run; a reconcile ends it', () => {
    const s = open('us-east-1');
    s.markLed('us-east-1', 1);
    s.commit([put('a', 1)], 1000);
    // Led again, epoch 2, without a reconcile between (its own take of 2 found nobody after 1).
    s.markLed('us-east-1', 2);
    s.commit([put('b', 2)], 1001);
    assert.deepEqual(s.partitionEpoch('us-east-1'), { epoch: 2, led: 2 });
    assert.deepEqual(s.rowsOfOwnLeads('us-east-1', 2).map((r) => r.key).sort(), ['a', 'b'], 'epoch 1 rows are still this region\'s to reconcile');
    s.reconcile('us-east-1', 2, [], 1002);
    assert.deepEqual(s.partitionEpoch('us-east-1'), { epoch: 2, led: null });
    s.markLed('us-east-1', 5);
    s.commit([put('c', 5)], 1003);
    assert.deepEqual(s.rowsOfOwnLeads('us-east-1', 5).map((r) => r.key), ['c'], 'a new run starts at its first lead');
    s.close();
  });

  it('opens a schema-1 file (no led_since): its run of leads starts at led', () => {
    const path = join(dir, 'schema1.db');
    const s = open('us-east-1', { path });
    s.markLed('us-east-1', 1);
    s.commit([put('a', 1)], 1000);
    s.markLed('us-east-1', 3);
    s.commit([put('b', 3)], 1001);
    s.close();
    // Make it a schema-1 file: partition_epochs without the column.
    const raw = new Database(path);
    raw.exec('CREATE TABLE pe1 (partition TEXT PRIMARY KEY, epoch INTEGER NOT NULL, led INTEGER) WITHOUT ROWID; INSERT INTO pe1 SELECT partition, epoch, led FROM partition_epochs; DROP TABLE partition_epochs; ALTER TABLE pe1 RENAME TO partition_epochs');
    raw.close();
    const again = open('us-east-1', { path });
    assert.deepEqual(again.partitionEpoch('us-east-1'), { epoch: 3, led: 3 });
    assert.deepEqual(again.rowsOfOwnLeads('us-east-1', 3).map((r) => r.key), ['b']);
    again.close();
  });
});
