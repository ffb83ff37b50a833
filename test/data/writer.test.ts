// Group commit with the fsync off the event loop: answers wait for the disk, one batch is
// on its way to the disk at a time, and a failed fsync acknowledges nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupWriter } from '../../src/data/index.js';
import type { LocalWrite, Store, WriteOutcome } from '../../src/store/index.js';

/** A store whose fsyncs the test completes by hand; commit() records each transaction. */
function fakeStore() {
  const transactions: string[][] = [];
  const fsyncs: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const store = {
    commit(items: readonly { write: LocalWrite }[]): WriteOutcome[] {
      transactions.push(items.map((i) => i.write.key));
      return items.map((i) => ({ ok: true, change: { kind: 'row', seq: 1, committedMs: 0, table: i.write.table, key: i.write.key, value: '1', version: { wall: 1, logical: 0, region: 'r' }, prev: null, home: null } }) as WriteOutcome);
    },
    sync(): Promise<void> {
      return new Promise((resolve, reject) => fsyncs.push({ resolve, reject }));
    },
  };
  // Only commit() and sync() of Store are used by GroupWriter.
  return { store: store as unknown as Store, transactions, fsyncs };
}

const put = (key: string): LocalWrite => ({ op: 'put', table: 't', key, value: '1', home: null });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a write is committed at once, acknowledged (durable, onCommitted) only after its fsync', async () => {
  const f = fakeStore();
  const committed: number[] = [];
  const w = new GroupWriter(f.store, { maxQueued: 100, maxBatch: 100, now: () => 0, onCommitted: (o) => committed.push(o.length) });
  const c = await w.write(put('a'));
  assert.ok(c.outcome.ok);
  let durable = false;
  void c.durable.then(() => (durable = true));
  await turn();
  assert.equal(durable, false, 'not before the fsync');
  assert.deepEqual(committed, [], 'replication is not told before the fsync');
  f.fsyncs[0]?.resolve();
  await turn();
  assert.equal(durable, true);
  assert.deepEqual(committed, [1]);
});

test('writes arriving while a batch is being fsync\'d wait, then commit together in one transaction', async () => {
  const f = fakeStore();
  const w = new GroupWriter(f.store, { maxQueued: 100, maxBatch: 100, now: () => 0, onCommitted: () => undefined });
  const first = w.write(put('a'));
  await turn();
  assert.deepEqual(f.transactions, [['a']]);
  const later = [w.write(put('b')), w.write(put('c'))];
  await turn();
  await turn();
  assert.deepEqual(f.transactions, [['a']], 'nothing committed while the fsync runs');
  f.fsyncs[0]?.resolve();
  await first;
  await Promise.all(later);
  assert.deepEqual(f.transactions, [['a'], ['b', 'c']]);
});

test('a failed fsync rejects durable and tells replication nothing', async () => {
  const f = fakeStore();
  const committed: number[] = [];
  const w = new GroupWriter(f.store, { maxQueued: 100, maxBatch: 100, now: () => 0, onCommitted: (o) => committed.push(o.length) });
  const c = await w.write(put('a'));
  f.fsyncs[0]?.reject(new Error('EIO'));
  await assert.rejects(c.durable, /EIO/);
  await turn();
  assert.deepEqual(committed, []);
  // The writer goes on: the next write commits and waits for its own fsync.
  const next = w.write(put('b'));
  await turn();
  assert.deepEqual(f.transactions, [['a'], ['b']]);
  f.fsyncs[1]?.resolve();
  await (await next).durable;
});

test('an urgent write (survive: region) commits in the current task, even while a batch is being fsync\'d, with what is queued', async () => {
  const f = fakeStore();
  const w = new GroupWriter(f.store, { maxQueued: 100, maxBatch: 100, now: () => 0, onCommitted: () => undefined });
  const first = w.write(put('a'));
  await turn();
  assert.deepEqual(f.transactions, [['a']]);
  const waiting = w.write(put('b'));
  const urgent = w.write(put('u'), undefined, true);
  // Before any I/O turn: at the end of this task, not at the next turn.
  await Promise.resolve();
  assert.deepEqual(f.transactions, [['a'], ['b', 'u']], 'committed while the first fsync runs, the queued write with it');
  const c = await urgent;
  let durable = false;
  void c.durable.then(() => (durable = true));
  await turn();
  assert.equal(durable, false, 'still acknowledged only after its own fsync');
  f.fsyncs[0]?.resolve();
  f.fsyncs[1]?.resolve();
  await first;
  await (await waiting).durable;
  await c.durable;
  // The writer goes on as before: a later ordinary write still commits and is made durable.
  const later = w.write(put('c'));
  await turn();
  await turn();
  assert.deepEqual(f.transactions, [['a'], ['b', 'u'], ['c']]);
  f.fsyncs[2]?.resolve();
  await (await later).durable;
});
